// Draw the figures a visitor looks at first; run once in the dashboard's page by st.html (app/scripts.py).
//
// Every figure of the dashboard is drawn in place (presentation/figure.js calls Plotly.react on the same
// element from run to run, and skips a figure equal to the one it drew). After a move every changed
// figure is handed to Plotly in the same task, and each drawing holds the page for 40-140 ms on the
// development machine. This wraps Plotly.react so that a move's figures are drawn one per frame, the first
// in sight at once (see `later` below). A page without this script draws exactly the same, only slower.
(function () {
  "use strict";
  const VERSION = 2;
  const w = window;
  if (w.__saeRedraw && w.__saeRedraw.version >= VERSION) return;
  w.__saeRedraw = { version: VERSION };

  function wrap(P) {
    if (!P || P.__saeRedraw) return;
    const react = P.react;
    P.__saeRedraw = true;
    P.react = function (gd, fig) {
      const self = this, args = arguments;
      const draw = () => react.apply(self, args);
      // only the form figure.js uses, Plotly.react(gd, {data, layout, config, frames}); a glide (motion.js)
      // starts at once, with the other maps of its move
      if (args.length !== 2 || !gd || typeof gd.getBoundingClientRect !== "function" || !fig ||
          (fig.layout && fig.layout.meta && fig.layout.meta.glide)) {
        return draw();
      }
      if (!busy && rank(gd) === 0 && !later.some((item) => rank(item.gd) === 0)) {
        startTurn();
        return draw();
      }
      return new Promise((resolve, reject) => {
        // gone meanwhile (the figure left the page): nothing to draw
        later.push({ gd, run: () => (gd.isConnected ? Promise.resolve(draw()).then(resolve, reject) : resolve(gd)) });
        drainSoon();
      });
    };
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

  // Plotly arrives with the page's preload (app/scripts.py); wait for it.
  const start = Date.now();
  (function wait() {
    if (w.Plotly && typeof w.Plotly.react === "function") wrap(w.Plotly);
    else if (Date.now() - start < 120000) w.setTimeout(wait, 50);
  })();
})();
