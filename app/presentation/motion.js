// The t-SNE glide (app/presentation/motion.py), run once in the dashboard's page by st.html.
//
// It lets every Plotly figure through untouched but a t-SNE map whose layout.meta.glide names it: {map:
// the model's map (the same for both of its spaces), slot: which of the page's maps (raw, normalised),
// ms}. The server sends each model's map as computed, built once and kept; everything about the motion
// happens here, in the tab:
//
// * The tab remembers, per slot, which map it shows and how it is turned (its pose: rotation or
//   mirror, scale, shift) and where every point is drawn.
// * A new map for a slot is aligned on the points as they are drawn (`align`: orthogonal Procrustes
//   and the ratio of spreads, as motion.align in Python, which tests/test_motion.py checks it against),
//   so that the motion is the points' own, not a spin; then every point moves in a straight line from
//   where it is drawn to its place on the aligned map, eased, in ms, the axis ranges and island labels
//   with it. The maps of one change move together (the first starts at once, the others join its clock).
// * The same map again (a rerun, presenter mode, a page switch and back) is drawn at its pose at once;
//   the first map of a tab, or after a map of other points, is drawn as sent; so is every map when the
//   visitor's system asks for reduced motion (prefers-reduced-motion), aligned all the same.
//
// The page's Plotly (window.Plotly, set when the bundle app/scripts.py preloads has run) draws:
// Plotly.react is wrapped. It draws copies of the figure it is handed, never changes them. Between the
// first and last drawing, each animation frame moves the WebGL points directly (the scattergl scene's
// marker positions, about 1 ms) and the labels by a CSS transform; where Plotly's internals are not as
// expected it falls back to Plotly.react on every frame (about 30 ms a map).
(function () {
  "use strict";
  const VERSION = 4;
  const w = window;
  if (w.__saeGlide && w.__saeGlide.version >= VERSION) return;
  // slowdown: a factor on every glide's duration (1; screenshots of a glide midway raise it)
  const G = (w.__saeGlide = { version: VERSION, shown: {}, groups: {}, log: [], slowdown: 1 });
  const TYPES = { f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array,
                  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array };
  const PAD = 0.04; // the axes show the points with this much of their span around them (motion.map_range)
  const IDENTITY = [1, 0, 0, 1, 0, 0];

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

  function align(moving, fixed) {
    // the pose [a, b, c, d, tx, ty] (p -> p @ [[a, b], [c, d]] + t) that lays the points `moving` best
    // onto `fixed` (per trace {x, y}, the same lengths), point onto point: motion.align's
    let n = 0, mx = 0, my = 0, fx = 0, fy = 0;
    moving.forEach((m, i) => {
      for (let j = 0; j < m.x.length; j++) { mx += m.x[j]; my += m.y[j]; fx += fixed[i].x[j]; fy += fixed[i].y[j]; }
      n += m.x.length;
    });
    if (!n) return IDENTITY.slice();
    mx /= n; my /= n; fx /= n; fy /= n;
    let c11 = 0, c12 = 0, c21 = 0, c22 = 0, sm = 0, sf = 0;
    moving.forEach((m, i) => {
      const f = fixed[i];
      for (let j = 0; j < m.x.length; j++) {
        const ax = m.x[j] - mx, ay = m.y[j] - my, bx = f.x[j] - fx, by = f.y[j] - fy;
        c11 += ax * bx; c12 += ax * by; c21 += ay * bx; c22 += ay * by;
        sm += ax * ax + ay * ay; sf += bx * bx + by * by;
      }
    });
    // the orthogonal matrix r maximising trace(r^T C): the best rotation [[cos, sin], [-sin, cos]] or the
    // best mirror [[cos, sin], [sin, -cos]] (in 2-D the SVD's answer is one of these two)
    const rot = Math.hypot(c11 + c22, c12 - c21), mir = Math.hypot(c11 - c22, c12 + c21);
    let r;
    if (rot >= mir) {
      const t = Math.atan2(c12 - c21, c11 + c22);
      r = [Math.cos(t), Math.sin(t), -Math.sin(t), Math.cos(t)];
    } else {
      const t = Math.atan2(c12 + c21, c11 - c22);
      r = [Math.cos(t), Math.sin(t), Math.sin(t), -Math.cos(t)];
    }
    const s = sm > 0 ? Math.sqrt(sf / sm) : 1;
    const a = s * r[0], b = s * r[1], c = s * r[2], d = s * r[3];
    return [a, b, c, d, fx - (mx * a + my * c), fy - (mx * b + my * d)];
  }

  function apply(pose, pts) {
    // the points moved by pose (per trace {x, y})
    const [a, b, c, d, tx, ty] = pose;
    return pts.map((p) => {
      const x = new Float64Array(p.x.length), y = new Float64Array(p.x.length);
      for (let j = 0; j < x.length; j++) { x[j] = p.x[j] * a + p.y[j] * c + tx; y[j] = p.x[j] * b + p.y[j] * d + ty; }
      return { x, y };
    });
  }

  function range(pts) {
    // the axis ranges [[x0, x1], [y0, y1]] that show every point with a margin (motion.map_range)
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const p of pts) {
      for (let j = 0; j < p.x.length; j++) {
        if (p.x[j] < x0) x0 = p.x[j];
        if (p.x[j] > x1) x1 = p.x[j];
        if (p.y[j] < y0) y0 = p.y[j];
        if (p.y[j] > y1) y1 = p.y[j];
      }
    }
    if (x0 > x1) return [[-1, 1], [-1, 1]];
    const sx = Math.max(x1 - x0, 1e-9), sy = Math.max(y1 - y0, 1e-9);
    return [[x0 - PAD * sx, x1 + PAD * sx], [y0 - PAD * sy, y1 + PAD * sy]];
  }

  function median(v) {
    const s = Float64Array.from(v).sort(), h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  }

  function islands(fig, pts) {
    // each island label (annotation "digit d") at the median of its digit's points (trace named d)
    const out = {};
    fig.data.forEach((t, i) => {
      if (pts[i] && pts[i].x.length) out["digit " + t.name] = [median(pts[i].x), median(pts[i].y)];
    });
    return out;
  }

  function drawing(fig, pts, rng, labels) {
    // a copy of fig showing points pts[i] = {x, y}, axis ranges rng, and island labels by name
    const L = fig.layout;
    return {
      data: fig.data.map((t, i) => (pts[i] ? Object.assign({}, t, { x: pts[i].x, y: pts[i].y }) : t)),
      layout: Object.assign({}, L, {
        xaxis: Object.assign({}, L.xaxis, { range: rng[0].slice() }),
        yaxis: Object.assign({}, L.yaxis, { range: rng[1].slice() }),
        annotations: (L.annotations || []).map((a) =>
          a.name && labels[a.name] ? Object.assign({}, a, { x: labels[a.name][0], y: labels[a.name][1] }) : a
        ),
      }),
      config: fig.config,
      frames: fig.frames,
    };
  }

  function state(run, e) {
    // the glide at eased time e (0: the points as they were drawn, 1: the new map): points, ranges, labels
    const pts = run.from.map((a, i) => {
      const b = run.to[i];
      const x = new Float32Array(a.x.length), y = new Float32Array(a.x.length);
      for (let j = 0; j < x.length; j++) { x[j] = mix(a.x[j], b.x[j], e); y[j] = mix(a.y[j], b.y[j], e); }
      return { x, y };
    });
    const rng = [0, 1].map((k) => [mix(run.range[k][0], run.range_to[k][0], e), mix(run.range[k][1], run.range_to[k][1], e)]);
    const labels = {};
    for (const name in run.islands_to) {
      const a = run.islands[name], b = run.islands_to[name];
      labels[name] = a ? [mix(a[0], b[0], e), mix(a[1], b[1], e)] : b;
    }
    return { e, pts, range: rng, labels };
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

  function same(a, b) {
    // the same points in the same traces (a map of the same test digits)
    return a.length === b.length && a.every((p, i) => p.x.length === b[i].x.length);
  }

  function wrap(P) {
    if (!P || P.__saeGlide) return;
    const react = P.react;
    P.__saeGlide = true;

    function draw(run, s) {
      // a full drawing of state s (Plotly.react); the fast path then moves from it
      unmove(run.gd);
      run.drawn = run.now = s;
      run.at = s.e;
      return react.call(P, run.gd, drawing(run.fig, s.pts, s.range, s.labels));
    }

    function finish(run) {
      if (run.done) return;
      run.done = true;
      run.at = 1;
      unmove(run.gd);
      G.log.push({ slot: run.slot, map: run.map, ms: Math.round(performance.now() - run.t0), frames: run.frames, fast: run.fast });
      if (G.log.length > 100) G.log.splice(0, G.log.length - 100);
      const shown = G.shown[run.slot];
      run.gd.__saeAt = shown && shown.pts === run.to ? shown : null;
      return react.call(P, run.gd, drawing(run.fig, run.to, run.range_to, run.islands_to));
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
        run.now = s;
        w.requestAnimationFrame(() => frame(run));
        return;
      }
      run.fast = false; // Plotly's internals differ: a full redraw each frame
      Promise.resolve(draw(run, s)).then(
        () => w.requestAnimationFrame(() => frame(run)),
        () => finish(run)
      );
    }

    function join(run) {
      // the first map of a move starts at once; the others of the same move (drawn a frame or two later)
      // join it on the same clock, so they move together (the eased start hides the few ms they skip)
      let group = G.groups[run.group];
      if (!group || performance.now() - group.t0 > run.ms) {
        for (const k in G.groups) { // forget glides long over
          if (performance.now() - G.groups[k].t0 > 10 * run.ms) delete G.groups[k];
        }
        group = G.groups[run.group] = { t0: performance.now() };
      }
      run.t0 = group.t0;
      w.requestAnimationFrame(() => frame(run));
    }

    P.react = function (gd, fig) {
      const g = arguments.length === 2 && gd ? spec(fig) : null;
      if (!g || !g.map || !g.slot || !fig.data) return react.apply(this, arguments);
      if (fig.data === gd.data && fig.layout === gd.layout) return Promise.resolve(gd); // what we drew, handed back
      const sent = fig.data.map((t) => ({ x: numbers(t.x), y: numbers(t.y) }));
      let shown = G.shown[g.slot];
      const here = gd.layout && gd.layout.meta && gd.layout.meta.glide;
      if (!shown && here && here.slot === g.slot && Array.isArray(gd.data)) {
        // a map drawn before this script ran (it comes after the page's figures): as sent, where it is
        shown = { map: here.map, pose: IDENTITY.slice(), pts: gd.data.map((t) => ({ x: numbers(t.x), y: numbers(t.y) })) };
      }
      const run = gd.__saeGlide;
      if (run && !run.done && run.map === g.map && run.slot === g.slot) {
        // the same map redrawn midway (presenter mode): the glide goes on, from a drawing of where it is
        run.fig = fig;
        const now = run.t0 === null ? 0 : Math.min(1, (performance.now() - run.t0) / run.ms);
        return draw(run, state(run, ease(now)));
      }
      let from = shown && shown.pts; // where the slot's points are drawn now (midway through a glide: there)
      for (const el of document.querySelectorAll(".js-plotly-plot")) {
        const r = el.__saeGlide;
        if (r && !r.done && r.slot === g.slot) {
          if (r.now) from = r.now.pts; // where its last frame put the points
          r.done = true;
          unmove(el);
        }
      }
      if (shown && shown.map === g.map && same(sent, shown.pts)) {
        // the same map again: at its pose, at once
        const pts = apply(shown.pose, sent);
        shown.pts = pts;
        gd.__saeAt = shown;
        return react.call(P, gd, drawing(fig, pts, range(pts), islands(fig, pts)));
      }
      if (!from || !same(sent, from)) {
        // the first map here (or one of other points): as sent
        gd.__saeAt = G.shown[g.slot] = { map: g.map, pose: IDENTITY.slice(), pts: sent };
        return react.call(P, gd, fig);
      }
      // this element shows exactly `from`, drawn by its last full drawing (not moved since): its first frame can
      // keep the very arrays Plotly holds, which Plotly.react then leaves as they are (only the layout changes)
      const still = shown && gd.__saeAt === shown && from === shown.pts && Array.isArray(gd.data) &&
        gd.data.length === from.length;
      const pose = align(sent, from), to = apply(pose, sent);
      gd.__saeAt = null;
      G.shown[g.slot] = { map: g.map, pose, pts: to };
      const rangeTo = range(to), islandsTo = islands(fig, to);
      const reduced = w.matchMedia && w.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (reduced) {
        gd.__saeAt = G.shown[g.slot];
        return react.call(P, gd, drawing(fig, to, rangeTo, islandsTo));
      }
      const next = {
        gd, fig, map: g.map, slot: g.slot, group: (shown ? shown.map : "") + ">" + g.map,
        ms: Math.max(1, (g.ms || 1000) * (G.slowdown || 1)), t0: null, done: false, frames: 0, fast: null, at: 0,
        from, to, range: range(from), range_to: rangeTo, islands: islands(fig, from), islands_to: islandsTo,
      };
      gd.__saeGlide = next;
      const start = state(next, 0);
      if (still) start.pts = gd.data.map((t) => ({ x: t.x, y: t.y }));
      const first = draw(next, start);
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
