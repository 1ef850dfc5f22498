"""The t-SNE glide: aligning one map on another (app.presentation.motion: the reference in numpy), the map
figure that names itself for the glide (charts.tsne_map), and the browser script that aligns and glides
(motion.js, run under Node with a stand-in Plotly, held to the numpy reference)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from app.presentation import charts, motion

N = 10_000


def rotation(deg: float) -> np.ndarray:
    t = np.radians(deg)
    return np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])


def islands(n: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A t-SNE-like map: ten blobs at irregular places, and the label of each point."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centres = rng.normal(size=(10, 2)) * 25
    return centres[labels] + rng.normal(size=(n, 2)) * 3, labels


# ---------------------------------------------------------------- alignment
@pytest.mark.parametrize("deg, mirror, scale", [(0, False, 1.0), (37, False, 1.0), (-120, True, 0.4), (180, True, 2.5)])
def test_a_turned_mirrored_scaled_shifted_copy_aligns_back_exactly(deg, mirror, scale):
    old, _ = islands()
    new = (old @ rotation(deg)) * scale + np.array([40.0, -7.0])
    if mirror:
        new[:, 0] = -new[:, 0]
    pose = motion.align(new, old)
    np.testing.assert_allclose(motion.apply(pose, new), old, atol=1e-9)
    a, b, c, d, _, _ = pose
    assert np.isclose(np.linalg.det([[a, b], [c, d]]), (-1 if mirror else 1) / scale**2)


def test_aligning_keeps_a_maps_size_where_least_squares_would_shrink_it():
    """Two maps that differ (islands moved): the aligned map keeps its spread, it is only turned onto the old."""
    old, labels = islands(seed=1)
    moved, _ = islands(seed=2)  # other island places, same labels: a map that differs a lot
    new = moved @ rotation(25)
    aligned = motion.apply(motion.align(new, old), new)
    spread = lambda p: np.sqrt(((p - p.mean(axis=0)) ** 2).sum(axis=1).mean())  # noqa: E731
    assert spread(aligned) == pytest.approx(spread(old))
    np.testing.assert_allclose(aligned.mean(axis=0), old.mean(axis=0), atol=1e-9)


def test_aligning_back_and_forth_returns_to_the_identity():
    """B aligned on A, then A aligned on B as shown: A is shown as computed (no drift walking λ back and forth)."""
    a, _ = islands(seed=3)
    b = a @ rotation(8) + np.random.default_rng(4).normal(size=a.shape) * 2
    b_shown = motion.apply(motion.align(b, a), b)
    pose_a = motion.align(a, b_shown)
    np.testing.assert_allclose(pose_a, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), atol=1e-9)
    np.testing.assert_allclose(motion.apply(pose_a, a), a, atol=1e-9)


def test_align_refuses_maps_of_different_points():
    with pytest.raises(ValueError):
        motion.align(np.zeros((5, 2)), np.zeros((4, 2)))


def test_the_easing_is_smooth_at_both_ends_and_symmetric():
    t = np.linspace(0, 1, 101)
    e = motion.ease(t)
    assert e[0] == 0 and e[-1] == 1 and e[50] == pytest.approx(0.5)
    assert np.all(np.diff(e) >= 0)
    np.testing.assert_allclose(e + e[::-1], 1.0, atol=1e-12)
    assert e[1] < 0.01 and e[-2] > 0.99, "slow start, slow landing"


def test_a_map_range_shows_every_point_with_a_margin():
    p = np.array([[0.0, 10.0], [100.0, 20.0]])
    (x0, x1), (y0, y1) = motion.map_range(p)
    assert (x0, x1) == pytest.approx((-4.0, 104.0)) and (y0, y1) == pytest.approx((9.6, 20.4))


# ---------------------------------------------------------------- the figure
def test_a_map_is_drawn_as_computed_and_names_itself_for_the_glide():
    emb, labels = islands()
    fig = charts.tsne_map(emb, labels, "map", glide=motion.glide_meta("m1", "raw"))
    (x0, x1), (y0, y1) = motion.map_range(emb.astype(np.float32))
    assert tuple(fig.layout.xaxis.range) == pytest.approx((x0, x1))
    assert tuple(fig.layout.yaxis.range) == pytest.approx((y0, y1))
    assert not fig.frames
    assert fig.layout.meta["glide"] == {"map": "m1", "slot": "raw", "ms": motion.GLIDE_MS}
    for d, trace in enumerate(fig.data):
        np.testing.assert_allclose(trace.x, emb[labels == d, 0].astype(np.float32))
    assert "glide" not in charts.tsne_map(emb, labels, "map").layout.meta  # a map that does not move (compare)


# ---------------------------------------------------------------- the script, under Node
NODE = shutil.which("node")
HARNESS = r"""
// A stand-in browser: a clock, animation frames, and a Plotly whose react records what it is asked to draw.
let now = 0;
const queue = [], timers = [];
let reduced = false;
global.performance = { now: () => now };
global.document = { querySelectorAll: () => elements.filter((e) => e.isConnected) };
global.window = {
  requestAnimationFrame: (f) => queue.push(f),
  setTimeout: (f, ms) => timers.push([now + ms, f]),
  matchMedia: () => ({ matches: reduced }),
};
global.atob = (s) => Buffer.from(s, "base64").toString("binary");
const drawn = [], elements = [];
const element = () => { const gd = { isConnected: true }; elements.push(gd); return gd; };
window.Plotly = {
  react: (gd, fig) => {
    gd.data = fig.data; gd.layout = fig.layout; drawn.push([gd, fig]);
    return Promise.resolve(gd);
  },
};
eval(require("fs").readFileSync(process.argv[2], "utf8"));
const TYPES = { i2: Int16Array, f4: Float32Array };
const values = (v) => {
  if (!v || !v.bdata) return Array.from(v, Number);
  const b = Buffer.from(v.bdata, "base64"), T = TYPES[v.dtype];
  return Array.from(new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
};
const points = (fig) => fig.data.map((t) => [values(t.x), values(t.y)]);
const last = (gd) => drawn.filter(([g]) => g === gd).pop()[1];
const labels = (fig) => Object.fromEntries((fig.layout.annotations || []).map((a) => [a.name, [a.x, a.y]]));
async function settle() { for (let i = 0; i < 5; i++) await Promise.resolve(); }
async function tick(ms) { now += ms; for (const t of timers.splice(0)) if (t[0] <= now) t[1](); else timers.push(t);
  for (const f of queue.splice(0)) f(now); await settle(); }
async function play(gd) {
  const seen = [];
  for (let i = 0; i < 200 && gd.__saeGlide && !gd.__saeGlide.done; i++) {
    await tick(50);
    seen.push(points(last(gd))[0][0][0]);
  }
  return seen;
}

(async () => {
  const figs = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8"));
  const out = {};
  const gd = element();
  const plain = { data: [{ x: [1, 2] }], layout: {} };
  await window.Plotly.react(gd, plain);
  out.plain_untouched = drawn.length === 1 && drawn[0][1] === plain;
  // the first map here: as sent
  const a = JSON.parse(JSON.stringify(figs.a));
  await window.Plotly.react(gd, a);
  out.first_as_sent = last(gd) === a && !gd.__saeGlide;
  // model b: first drawn where a's points are, then a glide to b turned onto them
  const sentB = JSON.stringify(figs.b);
  await window.Plotly.react(gd, figs.b);
  await settle();
  out.start = points(last(gd));
  out.start_title = last(gd).layout.title.text;
  out.seen = await play(gd);
  out.fast = gd.__saeGlide.fast;
  out.end = points(last(gd));
  out.end_range = [last(gd).layout.xaxis.range, last(gd).layout.yaxis.range];
  out.end_labels = labels(last(gd));
  out.log = window.__saeGlide.log.slice();
  out.figure_unchanged = JSON.stringify(figs.b) === sentB;
  // b again, in presenter mode (another layout): at once, where the glide left it
  const logged = window.__saeGlide.log.length;
  await window.Plotly.react(gd, figs.b_present);
  await tick(50);
  out.again = points(last(gd));
  out.again_font = last(gd).layout.font.size;
  out.again_glides = window.__saeGlide.log.length - logged || (gd.__saeGlide && !gd.__saeGlide.done ? 1 : 0);
  // back to a: a glide to a, turned back as it was computed
  await window.Plotly.react(gd, figs.a);
  await play(gd);
  out.back = points(last(gd));
  // another page and back (a new element), a shown there: at once
  gd.isConnected = false;
  const gd2 = element();
  await window.Plotly.react(gd2, figs.a);
  await tick(50);
  out.page_back_glides = !!gd2.__saeGlide;
  out.page_back = points(last(gd2));
  // both maps of a move glide together: raw (gd2) starts at once, normalised (gd3), drawn later, joins its clock
  const gd3 = element();
  await window.Plotly.react(gd3, figs.n_a);
  const asked = now;
  await window.Plotly.react(gd2, figs.b);
  out.started_at_once = gd2.__saeGlide.t0 === asked;
  await tick(50);
  await window.Plotly.react(gd3, figs.n_b);
  await tick(50);
  out.together = gd2.__saeGlide.t0 !== null && gd2.__saeGlide.t0 === gd3.__saeGlide.t0;
  await play(gd2); await play(gd3);
  // reduced motion: the new map at once, turned onto the old all the same
  reduced = true;
  const n = drawn.length;
  await window.Plotly.react(gd2, figs.a);
  await tick(50);
  out.reduced_draws = drawn.length - n;
  const run = gd2.__saeGlide;
  out.reduced_glides = !!(run && !run.done && run.map === figs.a.layout.meta.glide.map);
  out.reduced = points(last(gd2));
  // a map drawn before the script ran (the page sends it after its figures), in a slot new to this tab
  reduced = false;
  const early = element();
  early.data = JSON.parse(JSON.stringify(figs.a.data)).map((t) => Object.assign(t, { x: values(t.x), y: values(t.y) }));
  const glideEarly = Object.assign({}, figs.a.layout.meta.glide, { slot: "early" });
  early.layout = Object.assign({}, figs.a.layout, { meta: { glide: glideEarly } });
  const bEarly = JSON.parse(JSON.stringify(figs.b));
  bEarly.layout.meta.glide.slot = "early";
  await window.Plotly.react(early, bEarly);
  await settle();
  out.early_start = points(last(early));
  out.early_glides = !!early.__saeGlide;
  // cut short: b, and a third map while it glides: the new glide starts where the last frame was drawn
  await window.Plotly.react(gd2, figs.b);
  await tick(50); await tick(50); await tick(200);
  out.cut_at = gd2.__saeGlide.at;
  out.cut_frame = points(last(gd2));
  await window.Plotly.react(gd2, figs.c);
  await settle();
  out.cut_start = points(last(gd2));
  console.log(JSON.stringify(out));
})();
"""


def moved_map(old: np.ndarray, seed: int) -> np.ndarray:
    """Another model's map of the same points: each point moved a little, the whole mirrored and turned."""
    new = old + np.random.default_rng(seed).normal(size=old.shape) * 2
    new[:, 0] = -new[:, 0]
    return new @ rotation(70) * 1.3 + np.array([5.0, -9.0])


def traces(fig) -> list[list[np.ndarray]]:
    return [[np.asarray(t.x, dtype=np.float64), np.asarray(t.y, dtype=np.float64)] for t in fig.data]


@pytest.mark.skipif(NODE is None, reason="needs node to run the browser script")
def test_the_script_aligns_the_new_map_on_the_one_drawn_and_glides_to_it(tmp_path):
    a, labels = islands(300, seed=11)
    labels[labels == 7] = 8  # an absent digit: an empty trace
    b = moved_map(a, 12)
    meta = lambda model, slot: motion.glide_meta(model, slot)  # noqa: E731
    figs = {
        "a": charts.tsne_map(a, labels, "map a", glide=meta("a", "raw")),
        "b": charts.tsne_map(b, labels, "map b", glide=meta("b", "raw")),
        "n_a": charts.tsne_map(a * 0.5, labels, "a", glide=meta("a", "normalised")),
        "n_b": charts.tsne_map(b * 0.5, labels, "b", glide=meta("b", "normalised")),
    }
    figs["c"] = charts.tsne_map(moved_map(b, 13), labels, "map c", glide=meta("c", "raw"))
    figs["b_present"] = charts.tsne_map(b, labels, "map b", glide=meta("b", "raw"))
    figs["b_present"].update_layout(font_size=18)
    (tmp_path / "motion.js").write_text(motion.SCRIPT)
    (tmp_path / "figures.json").write_text(json.dumps({k: json.loads(f.to_json()) for k, f in figs.items()}))
    (tmp_path / "harness.js").write_text(HARNESS)
    run = subprocess.run(
        [NODE, str(tmp_path / "harness.js"), str(tmp_path / "motion.js"), str(tmp_path / "figures.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    a32, b32 = a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)
    # what numpy's reference does: b turned, mirrored, scaled and shifted onto a as drawn
    expected = motion.apply(motion.align(b32, a32), b32)
    by_digit = lambda p: [[p[labels == d, 0], p[labels == d, 1]] for d in range(10)]  # noqa: E731

    assert out["plain_untouched"], "a figure without a glide goes to Plotly as it is"
    assert out["first_as_sent"], "the first map here is drawn as sent"
    for got, want in zip(out["start"], by_digit(a32)):  # it starts where a's points were drawn
        np.testing.assert_allclose(got, want, atol=1e-4)
    assert out["start_title"] == "map b"
    for got, want in zip(out["end"], by_digit(expected)):  # and ends at b aligned on them, as numpy aligns it
        np.testing.assert_allclose(got, want, atol=1e-3)
    assert np.abs(expected - a32).mean() < 3.0, "aligned: the points move by their own change, not a mirror turn"
    np.testing.assert_allclose(out["end_range"], motion.map_range(expected), atol=1e-3)
    for d in set(labels.tolist()):
        np.testing.assert_allclose(out["end_labels"][f"digit {d}"], np.median(expected[labels == d], axis=0), atol=1e-3)
    assert "digit 7" not in out["end_labels"]
    seen, x0, x1 = out["seen"], a32[labels == 0][0, 0], expected[labels == 0][0, 0]
    assert out["fast"] is False, "no scattergl scene here: a full drawing every frame"
    assert len({v for v in seen if min(x0, x1) < v < max(x0, x1)}) >= 5, f"several drawings between: {seen}"
    assert seen == sorted(seen) or seen == sorted(seen, reverse=True), "the points move one way"
    assert out["log"][0]["slot"] == "raw" and out["log"][0]["ms"] >= motion.GLIDE_MS
    assert out["figure_unchanged"], "the figure handed to Plotly.react is never edited"
    # the same map in presenter mode: where the glide left it, at once
    np.testing.assert_allclose(
        np.concatenate([np.ravel(t) for t in out["again"]]),
        np.concatenate([np.ravel(t) for t in out["end"]]),
        atol=1e-6,
    )
    assert out["again_font"] == 18 and out["again_glides"] == 0
    # back to a: turned back as computed (no drift)
    for got, want in zip(out["back"], by_digit(a32)):
        np.testing.assert_allclose(got, want, atol=1e-3)
    # a glide cut short: the next one starts where the last frame drew the points, not at either map (every
    # frame is a full drawing here; in a browser the frames move the WebGL points, and run.now follows them)
    assert 0 < out["cut_at"] < 1
    for got, want in zip(out["cut_start"], out["cut_frame"]):
        np.testing.assert_allclose(got, want, atol=1e-4)
    # a page switch and back: the same map, no glide
    assert not out["page_back_glides"]
    for got, want in zip(out["page_back"], by_digit(a32)):
        np.testing.assert_allclose(got, want, atol=1e-3)
    assert out["started_at_once"] and out["together"], "the first map starts at once, the other joins its clock"
    assert out["reduced_draws"] == 1 and not out["reduced_glides"], "reduced motion: no glide"
    assert out["early_glides"], "a map drawn before the script ran glides from where it is"
    for got, want in zip(out["early_start"], by_digit(a32)):
        np.testing.assert_allclose(got, want, atol=1e-4)
    back = motion.apply(motion.align(a32, expected), a32)
    for got, want in zip(out["reduced"], by_digit(back)):
        np.testing.assert_allclose(got, want, atol=1e-3)
