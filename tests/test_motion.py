"""The t-SNE glide: aligning one map on another (app.presentation.motion), the glide figure
(charts.tsne_glide), and the browser script that plays it (motion.js, run under Node with a stand-in Plotly)."""

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
    _, b_shown, pose_b = motion.glide(a, motion.IDENTITY, b)
    _, a_shown, pose_a = motion.glide(b, pose_b, a)
    np.testing.assert_allclose(pose_a, motion.IDENTITY, atol=1e-9)
    np.testing.assert_allclose(a_shown, a, atol=1e-9)
    assert motion.pose_key(pose_a) == motion.pose_key(motion.IDENTITY)  # the same cached figure as the first glide


def test_align_refuses_maps_of_different_points():
    with pytest.raises(ValueError):
        motion.align(np.zeros((5, 2)), np.zeros((4, 2)))


# ---------------------------------------------------------------- the glide
def test_the_glide_starts_at_the_old_map_as_shown_and_ends_at_the_new_map_aligned_on_it():
    old, _ = islands(seed=5)
    old_pose = motion.align(old @ rotation(30), old)  # the old map is on screen turned by its own glide
    new = (old + np.random.default_rng(6).normal(size=old.shape)) @ rotation(-90)
    start, end, pose = motion.glide(old, old_pose, new)
    np.testing.assert_allclose(start, motion.apply(old_pose, old))
    np.testing.assert_allclose(end, motion.apply(pose, new))
    assert np.abs(end - start).mean() < 2.0, "aligned: the points move by their own change, not a quarter turn"
    np.testing.assert_allclose(motion.between(start, end, 0.0), start)
    np.testing.assert_allclose(motion.between(start, end, 1.0), end)
    steps = [motion.between(start, end, t)[0, 0] for t in np.linspace(0, 1, 11)]
    assert steps == sorted(steps) or steps == sorted(steps, reverse=True), "every point moves one way along its line"


def test_the_easing_is_smooth_at_both_ends_and_symmetric():
    t = np.linspace(0, 1, 101)
    e = motion.ease(t)
    assert e[0] == 0 and e[-1] == 1 and e[50] == pytest.approx(0.5)
    assert np.all(np.diff(e) >= 0)
    np.testing.assert_allclose(e + e[::-1], 1.0, atol=1e-12)
    assert e[1] < 0.01 and e[-2] > 0.99, "slow start, slow landing"


def test_maps_go_out_as_int16_far_below_a_pixel_or_float32_when_too_large():
    a, _ = islands()
    qa, qb, scale = motion.quantize(a, a * 0.5)
    assert qa.dtype == np.int16 and qb.dtype == np.int16 and scale == motion.QUANTUM
    np.testing.assert_allclose(qa / scale, a, atol=0.5 / motion.QUANTUM)
    big = a * 100  # beyond ±127
    qa, qb, scale = motion.quantize(a, big)
    assert qa.dtype == np.float32 and qb.dtype == np.float32 and scale == 1.0


def test_a_map_range_shows_every_point_with_a_margin():
    p = np.array([[0.0, 10.0], [100.0, 20.0]])
    (x0, x1), (y0, y1) = motion.map_range(p)
    assert (x0, x1) == pytest.approx((-4.0, 104.0)) and (y0, y1) == pytest.approx((9.6, 20.4))


# ---------------------------------------------------------------- the figures
def test_a_plain_map_sets_its_ranges_as_a_glide_from_it_starts():
    emb, labels = islands()
    fig = charts.tsne_map(emb, labels, "map")
    (x0, x1), (y0, y1) = motion.map_range(emb.astype(np.float32))
    assert tuple(fig.layout.xaxis.range) == pytest.approx((x0, x1))
    assert tuple(fig.layout.yaxis.range) == pytest.approx((y0, y1))
    assert not fig.frames and "glide" not in fig.layout.meta


def glide_figure(n: int = N):
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    labels[labels == 7] = 8  # an absent digit: an empty trace in every frame
    old = rng.normal(size=(n, 2)) * 26
    new = old @ rotation(5) + rng.normal(size=(n, 2)) * 4
    start, end, _ = motion.glide(old, motion.IDENTITY, new)
    fig = charts.tsne_glide(start, end, labels, "map", token="t1", slot="raw", group="g1", count=2, height=480)
    return fig, start, end, labels


def test_a_glide_figure_has_frames_from_the_old_map_to_the_new_and_shows_the_new():
    fig, start, end, labels = glide_figure(2_000)
    assert [f.name for f in fig.frames] == ["from", "to"]
    g = fig.layout.meta["glide"]
    assert (g["token"], g["slot"], g["group"], g["count"], g["from"], g["to"]) == ("t1", "raw", "g1", 2, "from", "to")
    assert g["ms"] == motion.GLIDE_MS
    q = g["scale"]
    for d, trace in enumerate(fig.data):
        m = labels == d
        frm, to = fig.frames[0].data[d], fig.frames[1].data[d]
        np.testing.assert_allclose(np.asarray(frm.x) / q, start[m, 0], atol=1 / q)
        np.testing.assert_allclose(np.asarray(to.y) / q, end[m, 1], atol=1 / q)
        np.testing.assert_array_equal(trace.x, to.x)  # the figure shows the new map
        np.testing.assert_array_equal(trace.y, to.y)
        np.testing.assert_array_equal(trace.customdata, np.flatnonzero(m))
    # the axes end where the new map's plain figure would put them; they start where the old one's were
    assert g["range_to"] == [list(fig.layout.xaxis.range), list(fig.layout.yaxis.range)]
    np.testing.assert_allclose(np.array(g["range"]) / q, np.array(motion.map_range(start)), rtol=1e-3)
    # island labels: drawn at the new map's medians, starting from the old one's
    named = {a.name: a for a in fig.layout.annotations}
    assert set(g["islands"]) == set(g["islands_to"]) == set(named) and "digit 7" not in named
    for name, a in named.items():
        d = int(name.split()[1])
        assert [a.x, a.y] == g["islands_to"][name]
        np.testing.assert_allclose(np.array(g["islands"][name]) / q, np.median(start[labels == d], axis=0), atol=1 / q)


def test_a_full_size_glide_figure_stays_lean():
    """10,000 points, three sets of positions (the data, "from" and "to") and the indices: below 300 KB of JSON."""
    fig, *_ = glide_figure()
    text = fig.to_json()
    assert len(text) < 300_000, len(text)
    assert fig.data[0].x.dtype == np.int16 and fig.frames[0].data[0].x.dtype == np.int16
    spec = json.loads(text)
    assert spec["frames"][0]["data"][0]["x"]["dtype"] == "i2"  # typed arrays, not lists of decimals


# ---------------------------------------------------------------- the script, under Node
NODE = shutil.which("node")
HARNESS = r"""
// A stand-in browser: a clock, animation frames, and a Plotly whose react records what it is asked to draw.
let now = 0;
const queue = [], timers = [];
global.performance = { now: () => now };
global.window = {
  requestAnimationFrame: (f) => queue.push(f),
  setTimeout: (f, ms) => timers.push([now + ms, f]),
  matchMedia: () => ({ matches: false }),
};
global.atob = (s) => Buffer.from(s, "base64").toString("binary");
const drawn = [];
window.Plotly = {
  react: (gd, fig) => { gd.data = fig.data; gd.layout = fig.layout; drawn.push(fig); return Promise.resolve(gd); },
};
eval(require("fs").readFileSync(process.argv[2], "utf8"));
const TYPES = { i2: Int16Array, f4: Float32Array };
const firstOf = (v) => {
  if (!v || !v.bdata) return Array.from(v, Number);
  const b = Buffer.from(v.bdata, "base64"), T = TYPES[v.dtype];
  return Array.from(new T(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
};
const first = (fig) => firstOf(fig.data[0].x);
async function settle() { for (let i = 0; i < 5; i++) await Promise.resolve(); }
async function tick(ms) { now += ms; for (const t of timers.splice(0)) if (t[0] <= now) t[1](); else timers.push(t);
  for (const f of queue.splice(0)) f(now); await settle(); }

(async () => {
  const spec = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8"));
  const out = {};
  const gd = { isConnected: true };
  const plain = { data: [{ x: [1, 2] }], layout: {} };
  await window.Plotly.react(gd, plain);
  out.plain_untouched = drawn.length === 1 && drawn[0] === plain;
  const sent = JSON.stringify(spec);
  await window.Plotly.react(gd, spec);  // Streamlit draws the glide figure
  await settle();
  out.first_x = first(drawn[drawn.length - 1]);
  out.first_range = drawn[drawn.length - 1].layout.xaxis.range;
  const seen = [];
  for (let i = 0; i < 200 && !gd.__saeGlide.done; i++) { await tick(50); seen.push(first(drawn[drawn.length - 1])[0]); }
  out.seen = seen;
  out.fast = gd.__saeGlide.fast;
  const last = drawn[drawn.length - 1];
  out.last_x = first(last);
  const xy = (traces) => JSON.stringify(traces.map((t) => [t.x, t.y]));
  out.last_is_to = xy(last.data) === xy(spec.frames[1].data);
  out.last_range = last.layout.xaxis.range;
  out.streamlit_objects_unchanged = JSON.stringify(spec) === sent;
  out.log = window.__saeGlide.log;
  // Streamlit hands back what was drawn: drawn again as it is, no new glide
  const count = drawn.length;
  await window.Plotly.react(gd, last);
  out.echo_draws = drawn.length - count;
  // a redraw of the same glide later (a page switch, presenter mode): the new map, at once
  const gd2 = { isConnected: true };
  await window.Plotly.react(gd2, JSON.parse(sent));
  await tick(50);
  out.replay_x = first(drawn[drawn.length - 1]);
  out.replay_glides = !!gd2.__saeGlide;
  out.to_x = firstOf(spec.frames[1].data[0].x).slice(0, 3);
  out.from_x = firstOf(spec.frames[0].data[0].x).slice(0, 3);
  console.log(JSON.stringify(out));
})();
"""


@pytest.mark.skipif(NODE is None, reason="needs node to run the browser script")
def test_the_script_draws_the_old_map_then_glides_to_the_new_one_once(tmp_path):
    fig, *_ = glide_figure(300)
    script = tmp_path / "motion.js"
    script.write_text(motion.SCRIPT)
    spec = tmp_path / "figure.json"
    spec.write_text(fig.to_json())
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    run = subprocess.run([NODE, str(harness), str(script), str(spec)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    g = fig.layout.meta["glide"]
    assert out["plain_untouched"], "a figure without a glide goes to Plotly as it is"
    assert out["first_x"][:3] == out["from_x"], "first drawn at the old map"
    assert out["first_range"] == pytest.approx(g["range"][0])
    seen = out["seen"]
    assert out["fast"] is False, "no scattergl scene here: a full drawing every frame"
    inside = [v for v in seen if min(out["from_x"][0], out["to_x"][0]) < v < max(out["from_x"][0], out["to_x"][0])]
    assert len(set(inside)) >= 5, f"several drawings between the two maps: {seen}"
    assert seen == sorted(seen) or seen == sorted(seen, reverse=True), "the points move one way"
    assert out["last_is_to"] and out["last_x"][:3] == out["to_x"], "it ends exactly at the new map"
    assert out["last_range"] == pytest.approx(g["range_to"][0])
    assert out["log"][0]["token"] == "t1" and out["log"][0]["ms"] >= g["ms"]
    assert out["streamlit_objects_unchanged"], "Streamlit's figure is never edited"
    assert out["echo_draws"] == 0
    assert out["replay_x"][:3] == out["to_x"] and not out["replay_glides"], "played once per tab and slot"
