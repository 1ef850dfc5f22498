// Skip a Plotly redraw that would draw exactly what is on screen, and draw the figures a visitor looks at
// first; run once in the dashboard's page by st.html (app/scripts.py).
//
// Streamlit draws every new figure twice: once when the chart mounts, and again a moment later, when it
// hands Plotly a deep copy of the same figure (its theme pass) with the width it measured. That second
// Plotly.react finds nothing to change, but it recomputes every default and compares the whole figure
// first: 20-60 ms per figure on the development machine, for each figure of a page after every move.
//
// This wraps Plotly.react: when a chart already drawn is handed a figure equal to the one it shows
// (compared as JSON, Plotly's own "_" fields left out; a width, height, click or drag mode that the
// chart already has counts as the same), the call returns at once. Anything else (new data, a resize, a glide's frames)
// goes to Plotly as before, one figure per frame, those in sight first (see `later` below). A page
// without this script draws exactly the same, only slower.
(function () {
  "use strict";
  const VERSION = 1;
  const w = window;
  if (w.__saeRedraw && w.__saeRedraw.version >= VERSION) return;
  const R = (w.__saeRedraw = { version: VERSION, skipped: 0, drawn: 0 });
  const MAX_CHARS = 2000000; // a larger figure is drawn as sent: comparing it could cost what it saves

  // layout keys that Streamlit sets on a figure after measuring its chart or reading its own options:
  // compared with what Plotly drew instead (the chart's _fullLayout), not as text
  const SET_BY_CHART = ["width", "height", "clickmode", "dragmode", "hovermode"];

  function text(fig) {
    // the figure as JSON, without Plotly's private fields and the keys above
    const layout = Object.assign({}, fig.layout || {});
    for (const k of SET_BY_CHART) delete layout[k];
    const frames = fig.frames && fig.frames.length ? fig.frames : null;
    return JSON.stringify([fig.data, layout, fig.config || null, frames], (k, v) =>
      k && k[0] === "_" ? undefined : v
    );
  }

  function sameChart(fig, gd) {
    // the keys above, where the figure gives them, are what the chart shows
    const L = fig.layout || {}, full = gd._fullLayout;
    return SET_BY_CHART.every((k) => L[k] === undefined || L[k] === full[k]);
  }

  function wrap(P) {
    if (!P || P.__saeRedraw) return;
    const react = P.react;
    P.__saeRedraw = true;
    P.react = function (gd, fig) {
      // only the form Streamlit uses, Plotly.react(gd, {data, layout, config, frames}); not a glide
      if (arguments.length !== 2 || !gd || !fig || !Array.isArray(fig.data) ||
          (fig.layout && fig.layout.meta && fig.layout.meta.glide)) {
        return react.apply(this, arguments);
      }
      let sent = null; // the figure handed over, as text (also kept: Plotly fills in ranges when it draws)
      try {
        sent = text(fig);
        if (gd._fullLayout && gd.__saeShown && sameChart(fig, gd) &&
            (sent === gd.__saeShown || sent === gd.__saeSent)) {
          // keep the size the caller gave (equal to the one drawn): Streamlit reads it back from the chart
          // and would otherwise hand the figure over again, and again
          for (const k of SET_BY_CHART) {
            if (fig.layout && fig.layout[k] !== undefined && gd.layout) gd.layout[k] = fig.layout[k];
          }
          R.skipped += 1;
          return Promise.resolve(gd);
        }
      } catch (err) {
        sent = null;
      }
      const self = this, args = arguments;
      const draw = () => {
        gd.__saeShown = null;
        gd.__saeSent = sent !== null && sent.length <= MAX_CHARS ? sent : null;
        return drawn(gd, fig, react.apply(self, args));
      };
      if (!busy && rank(gd) === 0 && !later.some((item) => rank(item.gd) === 0)) {
        startTurn();
        return draw();
      }
      return new Promise((resolve, reject) => {
        // gone meanwhile (Streamlit replaced the chart): nothing to draw
        later.push({ gd, run: () => (gd.isConnected ? Promise.resolve(draw()).then(resolve, reject) : resolve(gd)) });
        drainSoon();
      });
    };
  }

  function drawn(gd, fig, out) {
    // remember what Plotly drew once it has drawn `out` (its promise)
    const remember = () => {
      // what is on screen now: the figure as Plotly holds it after drawing (it fills in ranges)
      try {
        const shown = text({ data: gd.data, layout: gd.layout, config: fig.config, frames: fig.frames });
        gd.__saeShown = shown.length <= MAX_CHARS ? shown : null;
        R.drawn += 1;
      } catch (err) {
        gd.__saeShown = null;
      }
    };
    Promise.resolve(out).then(remember, () => { gd.__saeShown = null; });
    return out;
  }

  // One figure drawn per turn, those in sight first. After a move Streamlit mounts every changed figure
  // of the page at once, and each drawing holds the page for 40-140 ms on the development machine; the
  // figure a visitor looks at was shown only once every other figure, those below the fold and the
  // sidebar's map too, had been drawn. Now the page's first figure in sight is drawn at once and shown;
  // the others wait for the next frame, one per frame: the page's figures in sight (between the window's
  // top and bottom edges), then the sidebar's, then those out of sight.
  const later = []; // {gd, run}: drawings waiting, in the order asked
  let busy = false; // a figure was drawn in this task
  let draining = false;

  function startTurn() {
    busy = true;
    w.setTimeout(() => { busy = false; }, 0);
  }

  function outOfSight(gd) {
    // a chart not laid out (no size) counts as in sight
    if (!gd.isConnected || typeof gd.getBoundingClientRect !== "function") return false;
    const r = gd.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    return r.top >= w.innerHeight || r.bottom <= 0;
  }

  function rank(gd) {
    // 0: a figure of the page in sight, 1: the sidebar's (in sight), 2: out of sight
    if (outOfSight(gd)) return 2;
    return gd.closest && gd.closest('[data-testid="stSidebar"]') ? 1 : 0;
  }

  function drainSoon() {
    if (draining) return;
    draining = true;
    let done = false;
    const go = () => {
      if (done) return;
      done = true;
      draining = false;
      let i = 0; // the first of the best rank
      const ranks = later.map((item) => rank(item.gd));
      ranks.forEach((r, j) => { if (r < ranks[i]) i = j; });
      const next = later.splice(i, 1)[0];
      if (next) {
        startTurn();
        next.run();
      }
      if (later.length) drainSoon();
    };
    // once the figure drawn before is painted: the next frame, then a task (or a timer, where frames
    // do not come: a tab in the background)
    w.requestAnimationFrame(() => w.requestAnimationFrame(() => w.setTimeout(go, 0)));
    w.setTimeout(go, 250);
  }

  // Streamlit loads its Plotly with the first chart; wait for it.
  const start = Date.now();
  (function wait() {
    if (w.Plotly && typeof w.Plotly.react === "function") wrap(w.Plotly);
    else if (Date.now() - start < 120000) w.setTimeout(wait, 50);
  })();
})();
