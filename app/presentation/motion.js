// The t-SNE glide (app/presentation/motion.py), run once in the dashboard's page by st.html.
//
// It lets every Plotly figure through untouched but one whose layout.meta.glide names the frames "from"
// and "to". The first time this tab draws such a figure, it is drawn at "from" (the old map as it was on
// screen, its axis ranges and island labels), then every point moves in a straight line to its place in
// "to", eased, in meta.glide.ms, the axes and labels with it; then it shows "to", which is the figure's
// own data (a tab without this script shows the new map at once). The maps of one change
// (meta.glide.group, meta.glide.count of them) start together. A glide is played once per tab and chart
// (meta.glide.slot): a redraw, a resize or a page switch shows the new map.
//
// The page's Plotly (window.Plotly, set when the bundle app/scripts.py preloads has run) draws: Plotly.react is wrapped.
// It draws copies of the figure Streamlit passes, never changes Streamlit's objects, and always rebuilds
// what it draws from the frames and meta.glide (Streamlit hands back what was drawn, and keeps it).
// Between the first and last drawing, each animation frame moves the WebGL points directly (the
// scattergl scene's marker positions, about 1 ms) and the labels by a CSS transform; where Plotly's
// internals are not as expected it falls back to Plotly.react on every frame (about 30 ms a map).
(function () {
  "use strict";
  const VERSION = 3;
  const w = window;
  if (w.__saeGlide && w.__saeGlide.version >= VERSION) return;
  // slowdown: a factor on every glide's duration (1; screenshots of a glide midway raise it)
  const G = (w.__saeGlide = { version: VERSION, played: {}, groups: {}, log: [], slowdown: 1 });
  const TYPES = { f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array,
                  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array };
  const WAIT_FOR_GROUP_MS = 1500; // a map whose partner has not arrived by then starts alone

  function numbers(v) {
    // an array as a figure holds it (a list, a typed array, or Plotly's {dtype, bdata}) -> Float64Array
    if (v && typeof v === "object" && typeof v.bdata === "string") {
      const bin = atob(v.bdata);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return Float64Array.from(new (TYPES[v.dtype] || Float64Array)(bytes.buffer));
    }
    return Float64Array.from(v || []);
  }
  const ease = (t) => (t < 0.5 ? 4 * t * t * t : 1 - Math.pow(-2 * t + 2, 3) / 2); // as motion.ease
  const mix = (a, b, e) => a + e * (b - a);
  const spec = (fig) => fig && fig.layout && fig.layout.meta && fig.layout.meta.glide;
  const framesOf = (fig, g) => {
    const out = {};
    for (const f of fig.frames || []) out[f.name] = f;
    return [out[g.from], out[g.to]];
  };

  function drawing(fig, g, pts, range, labels) {
    // a copy of fig showing points pts[i] = {x, y} (or as sent), axis ranges, and island labels by name
    const L = fig.layout;
    return {
      data: fig.data.map((t, i) => (pts[i] ? Object.assign({}, t, { x: pts[i].x, y: pts[i].y }) : t)),
      layout: Object.assign({}, L, {
        xaxis: Object.assign({}, L.xaxis, { range: range[0].slice() }),
        yaxis: Object.assign({}, L.yaxis, { range: range[1].slice() }),
        annotations: (L.annotations || []).map((a) =>
          a.name && labels[a.name] ? Object.assign({}, a, { x: labels[a.name][0], y: labels[a.name][1] }) : a
        ),
      }),
      config: fig.config,
      frames: fig.frames,
    };
  }

  function final(fig, g) {
    // the figure as it ends: frame "to" (as sent), its ranges and labels
    const to = framesOf(fig, g)[1];
    const pts = fig.data.map((t, i) => (to.data[i] ? { x: to.data[i].x, y: to.data[i].y } : null));
    return drawing(fig, g, pts, g.range_to, g.islands_to);
  }

  function state(run, e) {
    // the glide at eased time e (0: the old map, 1: the new one): points, axis ranges, island labels
    const g = run.glide;
    const pts = run.from.map((a, i) => {
      const b = run.to[i];
      if (!b || a.x.length !== b.x.length) return null;
      const x = new Float32Array(a.x.length), y = new Float32Array(a.x.length);
      for (let j = 0; j < x.length; j++) { x[j] = mix(a.x[j], b.x[j], e); y[j] = mix(a.y[j], b.y[j], e); }
      return { x, y };
    });
    const range = [0, 1].map((k) => [mix(g.range[k][0], g.range_to[k][0], e), mix(g.range[k][1], g.range_to[k][1], e)]);
    const labels = {};
    for (const name in g.islands_to) {
      const a = g.islands[name], b = g.islands_to[name];
      if (a && b) labels[name] = [mix(a[0], b[0], e), mix(a[1], b[1], e)];
    }
    return { e, pts, range, labels };
  }

  function fast(run, gd, s) {
    // move the drawn points and labels to state s without Plotly: false if its internals are not as expected
    try {
      const fl = gd._fullLayout, scene = fl._plots.xy._scene, xa = fl.xaxis, ya = fl.yaxis;
      const regl = fl._glcanvas.data()[0].regl, opts = scene.markerOptions, d = run.drawn;
      if (!scene.scatter2d || !opts || opts.length !== s.pts.length || !xa._length || !ya._length) return false;
      // the scene still draws the axis ranges of the last drawing (d.range): fold the ranges of s into the points
      const r0 = d.range, r = s.range;
      const kx = (r0[0][1] - r0[0][0]) / (r[0][1] - r[0][0]), ky = (r0[1][1] - r0[1][0]) / (r[1][1] - r[1][0]);
      const fx = (v) => r0[0][0] + (v - r[0][0]) * kx, fy = (v) => r0[1][0] + (v - r[1][0]) * ky;
      const update = opts.map((o, i) => {
        const p = s.pts[i];
        if (!o || !p || !o.positions || o.positions.length !== 2 * p.x.length) return {};
        const pos = new Float64Array(2 * p.x.length);
        for (let j = 0; j < p.x.length; j++) { pos[2 * j] = fx(p.x[j]); pos[2 * j + 1] = fy(p.y[j]); }
        return { positions: pos };
      });
      scene.scatter2d.update(update);
      regl.clear({ color: [0, 0, 0, 0], depth: 1 });
      scene.draw();
      // labels: from where the last drawing put them to where s puts them, in pixels
      const px = (v) => ((v - r0[0][0]) / (r0[0][1] - r0[0][0])) * xa._length;
      const py = (v) => ((v - r0[1][0]) / (r0[1][1] - r0[1][0])) * ya._length;
      const names = (gd.layout.annotations || []).map((a) => a.name);
      for (const el of gd.querySelectorAll("g.annotation")) {
        const name = names[Number(el.getAttribute("data-index"))], l = s.labels[name], l0 = d.labels[name];
        if (!l || !l0) continue;
        const dx = px(fx(l[0])) - px(l0[0]), dy = -(py(fy(l[1])) - py(l0[1]));
        el.style.transform = `translate(${dx.toFixed(1)}px, ${dy.toFixed(1)}px)`;
      }
      return true;
    } catch (err) {
      return false;
    }
  }

  function unmove(gd) {
    if (gd.querySelectorAll) for (const el of gd.querySelectorAll("g.annotation")) el.style.transform = "";
  }

  function wrap(P) {
    if (!P || P.__saeGlide) return;
    const react = P.react;
    P.__saeGlide = true;

    function draw(run, s) {
      // a full drawing of state s (Plotly.react); the fast path then moves from it
      unmove(run.gd);
      run.drawn = s;
      run.at = s.e;
      return react.call(P, run.gd, drawing(run.fig, run.glide, s.pts, s.range, s.labels));
    }

    function finish(run) {
      if (run.done) return;
      run.done = true;
      run.at = 1;
      unmove(run.gd);
      G.log.push({ token: run.glide.token, ms: Math.round(performance.now() - run.t0), frames: run.frames, fast: run.fast });
      if (G.log.length > 100) G.log.splice(0, G.log.length - 100);
      return react.call(P, run.gd, final(run.fig, run.glide));
    }

    function frame(run) {
      const gd = run.gd, now = performance.now(); // not rAF's time: the same clock as t0
      if (run.done) return;
      if (gd.__saeGlide !== run || !gd.isConnected) { run.done = true; return; }
      const t = Math.min(1, Math.max(0, (now - run.t0) / run.ms));
      if (t >= 1) { finish(run); return; }
      const s = state(run, ease(t));
      run.frames += 1;
      if (run.fast !== false && fast(run, gd, s)) {
        run.fast = true;
        run.at = s.e;
        w.requestAnimationFrame(() => frame(run));
        return;
      }
      run.fast = false; // Plotly's internals differ: a full redraw each frame
      Promise.resolve(draw(run, s)).then(
        () => w.requestAnimationFrame(() => frame(run)),
        () => finish(run)
      );
    }

    function begin(group) {
      if (group.t0 !== null) return;
      group.t0 = performance.now();
      for (const run of group.runs) { run.t0 = group.t0; w.requestAnimationFrame(() => frame(run)); }
    }

    function join(run) {
      const key = run.glide.group || run.glide.token;
      let group = G.groups[key];
      if (!group || (group.t0 !== null && performance.now() - group.t0 > run.ms)) {
        for (const k in G.groups) { // forget glides long over (their maps may be gone from the page)
          const t0 = G.groups[k].t0;
          if (t0 !== null && performance.now() - t0 > 10 * run.ms) delete G.groups[k];
        }
        group = G.groups[key] = { runs: [], t0: null };
        w.setTimeout(() => begin(group), WAIT_FOR_GROUP_MS);
      }
      group.runs.push(run);
      if (group.t0 !== null) { run.t0 = group.t0; w.requestAnimationFrame(() => frame(run)); }
      else if (group.runs.length >= (run.glide.count || 1)) begin(group);
    }

    P.react = function (gd, fig) {
      const g = arguments.length === 2 && gd ? spec(fig) : null;
      if (!g || !g.range || !g.range_to) return react.apply(this, arguments);
      const [from, to] = framesOf(fig, g);
      if (!from || !to) return react.apply(this, arguments);
      if (fig.data === gd.data && fig.layout === gd.layout) return Promise.resolve(gd); // what we drew, handed back
      const run = gd.__saeGlide;
      if (run && run.glide.token === g.token && !run.done) {
        // Streamlit redrew this figure midway (its size): the glide goes on from a drawing of where it is
        run.fig = fig;
        const now = run.t0 === null ? 0 : Math.min(1, (performance.now() - run.t0) / run.ms);
        return draw(run, state(run, ease(now)));
      }
      if (run && !run.done) { run.done = true; unmove(gd); }
      const reduced = w.matchMedia && w.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (G.played[g.slot] === g.token || reduced) {
        return react.call(P, gd, final(fig, g)); // seen already in this tab (a page switch, presenter mode)
      }
      G.played[g.slot] = g.token;
      const xy = (t) => ({ x: numbers(t.x), y: numbers(t.y) });
      const next = {
        gd, fig, glide: g, ms: Math.max(1, (g.ms || 1000) * (G.slowdown || 1)), t0: null, done: false, frames: 0,
        fast: null, at: 0, from: from.data.map(xy), to: to.data.map(xy),
      };
      gd.__saeGlide = next;
      const first = draw(next, state(next, 0));
      Promise.resolve(first).then(() => join(next), () => finish(next));
      return first;
    };
  }

  // Plotly arrives with the page's preload (app/scripts.py); the t-SNE page may be the first page opened.
  const start = Date.now();
  (function wait() {
    if (w.Plotly && typeof w.Plotly.react === "function") wrap(w.Plotly);
    else if (Date.now() - start < 120000) w.setTimeout(wait, 50);
  })();
})();
