// The dashboard's figures, drawn in place (app.chrome.chart; a Streamlit components-v2 component).
//
// Streamlit's own chart element takes a figure's content into its identity: after a move every changed
// figure is a new element, so the browser mounts a new chart and Plotly draws it from nothing (100-180 ms
// a figure on the development machine). Here each figure has a place on the page (its key) that stays
// the same from run to run: the same <div> is handed the new figure and Plotly.react draws only what
// changed. The figure arrives as JSON bytes; the same bytes again (a rerun that changed nothing here)
// draw nothing.
//
// Plotly is Streamlit's own (window.Plotly, the module app/scripts.py preloads), so the page loads it
// once; the page's scripts that wrap Plotly.react (redraw.js, motion.js) see these drawings as they see
// Streamlit's: Plotly.react(gd, {data, layout, config, frames}).
const CONFIG = { displaylogo: false, responsive: true }; // as Streamlit's chart: no logo, the column's width
const WAIT_MS = 120000; // how long to wait for Plotly's module before giving up (a figure then stays empty)

function whenPlotly(run) {
  const w = window;
  if (w.Plotly && typeof w.Plotly.react === "function") return run(w.Plotly);
  const start = Date.now();
  const timer = w.setInterval(() => {
    if (w.Plotly && typeof w.Plotly.react === "function") {
      w.clearInterval(timer);
      run(w.Plotly);
    } else if (Date.now() - start > WAIT_MS) {
      w.clearInterval(timer);
    }
  }, 25);
}

export default function ({ parentElement, data }) {
  let gd = parentElement.querySelector(":scope > .sae-figure");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "sae-figure";
    parentElement.appendChild(gd);
  }
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  if (text === gd.__saeText) return undefined; // this figure is drawn, or about to be
  gd.__saeText = text;
  let fig;
  try {
    fig = JSON.parse(text);
  } catch (err) {
    return undefined; // not a figure: keep what is on screen
  }
  fig.config = CONFIG;
  const height = fig.layout && fig.layout.height;
  // hold the figure's place while Plotly loads, so that the page below it does not jump when it is drawn
  if (!gd.__saeDrawn && height) gd.style.minHeight = `${height}px`;
  gd.__saeNext = fig;
  gd.dataset.saePending = "1"; // for tests and benchmarks: a figure handed over is not drawn yet
  if (!gd.__saeBusy) draw(gd);
  return undefined;
}

function draw(gd) {
  // the newest figure handed over; one drawing at a time per figure, so that key presses faster than
  // Plotly skip the figures already out of date instead of drawing each in turn
  gd.__saeBusy = true;
  whenPlotly((Plotly) => {
    const next = gd.__saeNext;
    gd.__saeNext = null;
    if (!next || !gd.isConnected) {
      gd.__saeBusy = false;
      delete gd.dataset.saePending;
      return;
    }
    const done = (ok) => {
      if (ok) {
        gd.__saeDrawn = true;
        gd.style.minHeight = "";
      } else {
        gd.__saeText = null; // drawn badly: the same figure sent again is drawn again
      }
      gd.__saeBusy = false;
      if (gd.__saeNext) draw(gd);
      else delete gd.dataset.saePending;
    };
    let out;
    try {
      out = Plotly.react(gd, next);
    } catch (err) {
      done(false);
      return;
    }
    Promise.resolve(out).then(() => done(true), () => done(false));
  });
}
