// The dashboard's figures, drawn in place (app.chrome.chart; a Streamlit components-v2 component).
//
// Streamlit's own chart element takes a figure's content into its identity: after a move every changed
// figure is a new element, so the browser mounts a new chart and Plotly draws it from nothing (100-180 ms
// a figure on the development machine). Here each figure has a place on the page (its key) that stays
// the same from run to run: the same <div> is handed the new figure and Plotly.react draws only what
// changed. The figure arrives as JSON bytes; the same bytes again (a rerun that changed nothing here)
// draw nothing.
//
// Plotly is the page's (window.Plotly: the dashboard's own bundle, which app/scripts.py preloads), so
// the page loads it once; the page's scripts that wrap Plotly.react (redraw.js, motion.js) see these
// drawings as Plotly.react(gd, {data, layout, config, frames}).
//
// A figure whose layout asks for click events (clickmode "event+select", app.chrome.CLICKABLE) sends a
// click on a point to the server as the trigger "selection", {points: [...]}, each point as Streamlit's
// chart writes a selected point (curve_number, point_number, point_index, x, y, customdata).
const CONFIG = { displaylogo: false, responsive: true }; // as Streamlit's chart: no logo, the column's width
const DEFAULT_HEIGHT = 450; // px: Plotly's (and Streamlit's chart's) for a figure that gives none
const WAIT_MS = 120000; // how long to wait for Plotly's module before the figure says it could not be drawn

function whenPlotly(gd, run) {
  const w = window;
  if (w.Plotly && typeof w.Plotly.react === "function") return run(w.Plotly);
  const start = Date.now();
  const timer = w.setInterval(() => {
    if (w.Plotly && typeof w.Plotly.react === "function") {
      w.clearInterval(timer);
      run(w.Plotly);
    } else if (Date.now() - start > WAIT_MS) {
      w.clearInterval(timer);
      gd.__saeBusy = false;
      gd.textContent = "This chart could not be drawn: the page's chart code did not load. Reload the page.";
    }
  }, 25);
}

function point(p) {
  // a clicked point as Streamlit's chart sends it (Plotly's own point holds the whole figure)
  const out = { curve_number: p.curveNumber, point_number: p.pointNumber, point_index: p.pointIndex };
  // a typed array (Plotly decodes a figure's base64 arrays into them) as a list, as JSON writes it
  const plain = (v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
  for (const k of ["x", "y", "z", "customdata"]) if (p[k] !== undefined) out[k] = plain(p[k]);
  return out;
}

function listen(gd) {
  // once per element, after its first drawing (Plotly gives it .on then)
  if (gd.__saeListens || typeof gd.on !== "function") return;
  gd.__saeListens = true;
  gd.on("plotly_click", (event) => {
    const mode = (gd.layout && gd.layout.clickmode) || "";
    if (!mode.includes("event") || !event || !event.points || !gd.__saeSend) return;
    gd.__saeSend("selection", { points: event.points.map(point) });
  });
}

export default function ({ parentElement, data, setTriggerValue }) {
  let gd = parentElement.querySelector(":scope > .sae-figure");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "sae-figure";
    parentElement.appendChild(gd);
  }
  gd.__saeSend = setTriggerValue;
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  if (text === gd.__saeText) return undefined; // this figure is drawn, or about to be
  gd.__saeText = text;
  let fig;
  try {
    fig = JSON.parse(text);
  } catch (err) {
    return undefined; // not a figure: keep what is on screen
  }
  fig.config = Object.assign({}, CONFIG, fig.config || {}); // a figure may bring its own (the sidebar's map)
  // the element is as tall as the figure, from the moment it arrives: the page below does not jump when
  // it is drawn, and Plotly's responsive mode (which fills the element) keeps the figure's own height
  const height = (fig.layout && fig.layout.height) || DEFAULT_HEIGHT;
  gd.style.height = `${height}px`;
  gd.__saeNext = fig;
  gd.dataset.saePending = "1"; // for tests and benchmarks: a figure handed over is not drawn yet
  if (!gd.__saeBusy) draw(gd);
  return undefined;
}

function draw(gd) {
  // the newest figure handed over; one drawing at a time per figure, so that key presses faster than
  // Plotly skip the figures already out of date instead of drawing each in turn
  gd.__saeBusy = true;
  whenPlotly(gd, (Plotly) => {
    const next = gd.__saeNext;
    gd.__saeNext = null;
    if (!next || !gd.isConnected) {
      gd.__saeBusy = false;
      delete gd.dataset.saePending;
      return;
    }
    const done = (ok) => {
      if (ok) {
        listen(gd);
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
