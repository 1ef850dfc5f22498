"""Page chrome: a page's title and intro, how charts and downloads are drawn, the local test images.

Figures are built once per (what they show, presenter mode) and kept for the server's life
(`figure`): moving back to a model seen before costs no figure work at all. `chart` draws a
figure with the dashboard's own template (Streamlit's theme would override its font sizes),
larger in presenter mode, and during the animation with the animated λ written large on it. Every
figure is drawn in place (`FIGURE`, presentation/figure.js): the same element from run to run, which the
browser redraws with Plotly.react instead of mounting a new chart after every move.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.io.json import to_json_plotly
from streamlit.runtime.scriptrunner import get_script_run_ctx

from app.presentation.style import AXIS_BAND, AXIS_BAND_PRESENTING, as_dict, use_template
from app.selection import presenting

use_template()  # after Streamlit's import, which sets its own default template

PRESENTER_FONT = 18  # px: Plotly's default is 12, too small for a projector
FIGURES_KEPT = 256  # built figures kept by the server (all sessions), least recently used dropped first
_SIZED = "_sae_sized"  # marks a figure already enlarged for presenter mode
_FROZEN = "_sae_frozen"  # marks a figure kept by `figure`: never edited again, so its dict can be kept too
_SENT = "_sae_sent"  # a frozen figure's dict (`to_dict`'s), made on its first draw
_BYTES = "_sae_bytes"  # a frozen figure's JSON as FIGURE sends it, made on its first draw
_BYTES_CLICKABLE = "_sae_bytes_clickable"  # the same with the modes of a figure that selects (CLICKABLE)
# a figure drawn in place: the same <div> from run to run, redrawn by Plotly.react (presentation/figure.js)
FIGURE_NAME = "sae_figure"  # the component's name (Streamlit's element carries it as its component_name)
FIGURE = st.components.v2.component(
    FIGURE_NAME, js=(Path(__file__).parent / "presentation" / "figure.js").read_text(), isolate_styles=False
)
CLICKABLE = {"clickmode": "event+select", "hovermode": "closest", "dragmode": "pan"}  # as Streamlit sets them


def page_intro(title: str, lead: str) -> None:
    """A page's title and one or two plain lines: the figure follows at once (the rest goes below it: `explain`)."""
    st.title(title)
    st.markdown(lead)


def explain(more: str, technical: str) -> None:
    """Below the page's main figure: the rest of the plain explanation, and the technical detail in an expander."""
    if more and not presenting():
        st.markdown(more)
    if not presenting():
        with st.expander("Technical details"):
            st.markdown(technical)


def opened(label: str, *, key: str):
    """An expander whose contents are drawn only while it is open: the container when open, else None.

    Opening or closing it reruns the page, which then draws (or leaves out) what it holds: closed, its
    figures and tables cost a move nothing and the first page does not load their code in the browser.
    """
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


@st.cache_resource(show_spinner=False)
def _figures() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def figure(key: tuple[Hashable, ...], build: Callable[[], go.Figure], *, sized: bool = True) -> go.Figure:
    """The figure `build()` makes, built once per `key` (what it shows) and presenter mode, and reused.

    key: everything the figure depends on, by identity rather than by content: the cache entry's name
    and stage, the options on screen. The figure is shared by every session: never edit it after this.
    sized: enlarged for presenter mode (`_size`); the sidebar's small figures keep their own sizes.
    """
    kept, lock = _figures()
    full = (*key, presenting())
    with lock:
        fig = kept.get(full)
        if fig is not None:
            kept.move_to_end(full)
            return fig
    fig = build()
    if sized:
        _size(fig)
    setattr(fig, _FROZEN, True)
    with lock:
        kept[full] = fig
        while len(kept) > FIGURES_KEPT:
            kept.popitem(last=False)
    return fig


def _size(fig: go.Figure) -> None:
    """Presenter mode: tick labels, legends, axis titles and hover text at PRESENTER_FONT px, titles larger."""
    if getattr(fig, _SIZED, False) or not presenting():
        return
    fig.update_layout(
        font_size=PRESENTER_FONT,
        title_font_size=PRESENTER_FONT + 4,
        legend_font_size=PRESENTER_FONT,
        hoverlabel_font_size=PRESENTER_FONT,
    )
    if fig.layout.margin.b == AXIS_BAND:  # the tick labels below the plot grow with the text
        fig.layout.margin.b = AXIS_BAND_PRESENTING
    for ann in fig.layout.annotations:  # subplot titles and labels that set their own size
        if ann.font.size is not None and ann.font.size < PRESENTER_FONT:
            ann.font.size = PRESENTER_FONT
    # the ring needs no legend entry (the page's first line says what it is): at this size a third
    # entry wraps a half-page chart's legend onto three rows at 1280 x 720
    fig.update_traces(showlegend=False, selector=dict(name="selected model"))
    setattr(fig, _SIZED, True)


PLAYING = "sae_playing"  # layout.meta of the main figure while the animation plays: {"axis", "value"} it shows


def playing_label() -> tuple[str, dict] | None:
    """While the animation plays: the animated λ as it should be written on the figure, and as the figure
    carries it for Stop ({"axis", "value"}: app/presentation/stop_watch.js); else None."""
    anim = st.session_state.get("_anim")
    if not anim:
        return None
    from app.presentation.text import fmt

    axis = anim["axis"]
    value = st.session_state.get(axis)
    if value is None:
        return None
    return f"{'λ_k' if axis == 'lambda_k' else 'λ_a'} = {fmt(value)}", {"axis": axis, "value": float(value)}


LABEL_BAND = 2 * PRESENTER_FONT + 14  # px at the top of a playing figure for the λ it shows, written large
PLOTLY_HEIGHT, PLOTLY_TOP, PLOTLY_BOTTOM = 450, 100, 80  # px: Plotly's height and margins where a figure sets none


def _banded(fig: go.Figure) -> tuple[go.Figure, dict]:
    """A copy of `fig` with a band of LABEL_BAND px at its top, and where a label goes in it (annotation options).

    The band is taken from the plot: the figure keeps its height, so nothing on the page moves. What is placed
    in the figure's own coordinates (its title, a legend above the plot) moves down by the band; what is placed
    on the plot moves with the plot.
    """
    out = go.Figure(fig)
    height = out.layout.height or PLOTLY_HEIGHT
    top = out.layout.margin.t if out.layout.margin.t is not None else PLOTLY_TOP

    def down(y: float) -> float:  # a height in the figure's coordinates, LABEL_BAND px lower
        return 1 - ((1 - y) * height + LABEL_BAND) / height

    title = out.layout.title
    if title.yref in (None, "container"):  # Plotly's own place: the middle of the top margin
        auto = title.y is None or title.y == "auto"
        out.layout.title.update(y=down(1 - top / 2 / height if auto else title.y), yref="container")
        if auto:
            out.layout.title.yanchor = "middle"
    if out.layout.legend.yref == "container" and out.layout.legend.y is not None:
        out.layout.legend.y = down(out.layout.legend.y)
    out.layout.margin.t = top + LABEL_BAND
    bottom = out.layout.margin.b if out.layout.margin.b is not None else PLOTLY_BOTTOM
    plot = max(height - top - LABEL_BAND - bottom, 1)  # an annotation is placed on the plot's scale only
    return out, dict(xref="paper", yref="paper", x=1.0, y=1 + (top + LABEL_BAND) / plot, xanchor="right", yanchor="top")


def _with_label(fig: go.Figure, label: str, shows: dict | None = None, inside: bool = False) -> go.Figure:
    """A copy of `fig` with `label` written large (the shared figure stays as it is), and what it shows in
    its layout's meta (`PLAYING`) for the page's Stop.

    The label has a band of its own at the top (`_banded`): written over the figure, it covered titles,
    subplot titles and legends at a projector's 1280 px. inside: in the plot's top-left corner instead, for
    a half-page figure whose corners are empty (a t-SNE map, roughly round).
    """
    if inside:
        out, place = go.Figure(fig), dict(xref="paper", yref="paper", x=0.0, y=1.0, xanchor="left", yanchor="top")
    else:
        out, place = _banded(fig)
    out.add_annotation(
        text=f"<b>{label}</b>",
        showarrow=False,
        font=dict(size=2 * PRESENTER_FONT, color="#D55E00"),
        bgcolor="rgba(255,255,255,0.85)",
        **place,
    )
    if shows is not None:
        out.layout.meta = (out.layout.meta or {}) | {PLAYING: shows}
    return out


class Sendable(go.Figure):
    """A figure's dict standing for the figure, made once: what `figure_bytes` sends.

    Plotly's `to_dict` deep-copies the whole figure and makes a base64 pass over its arrays (a fifth of a
    revisit's time, when Streamlit's chart called it on every rerun). A kept figure never changes
    (`figure`), so its dict is made on the first draw (`style.as_dict`, the same dict made faster) and
    handed over again; the sidebar's map adds its ring to a kept map's dict this way. Only `to_dict` is
    ever called on this object; it is never shown or edited itself.
    """

    def __init__(self, spec: dict) -> None:  # noqa: D107 - no go.Figure state: nothing but to_dict is used
        # spec: a figure's dict as `to_dict` gives it, never changed afterwards (it may be shared)
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return self._spec


def sendable(fig: go.Figure, clickable: bool = False) -> go.Figure:
    """The figure to send: for a figure kept by `figure`, a `Sendable` whose dict is made only once.

    clickable: the figure selects points on a click (`selection_mode="points"`). It then carries the
    click, drag and hover modes Streamlit's chart set on such a figure (CLICKABLE): figure.js sends a
    click on a point when clickmode asks for events.
    """
    if not getattr(fig, _FROZEN, False):
        if clickable:
            fig.update_layout({k: v for k, v in CLICKABLE.items() if not fig.layout[k]})
        return fig
    spec = getattr(fig, _SENT, None)
    if spec is None:
        spec = as_dict(fig)  # fig.to_dict(), without its deep copy and per-array checks
        setattr(fig, _SENT, spec)
    if clickable:
        layout = spec.get("layout", {})
        spec = {**spec, "layout": {**layout, **{k: v for k, v in CLICKABLE.items() if not layout.get(k)}}}
    return Sendable(spec)


def chart(
    fig: go.Figure, *, where=st, main: bool = False, label_inside: bool = False, beside_main: bool = False, **kwargs
):
    """Draw a figure across its column (returns what Streamlit's component call returns).

    main: the page's main figure, on which the animation writes the λ it is showing
    (label_inside: in the plot's top-left corner, see `_with_label`). beside_main: a figure in the main
    one's row, which gets the same empty band at its top while the animation plays, so the two stay level.

    Every figure is drawn in place (`FIGURE`): it keeps its place on the page from run to run (its key, or
    the line of the page that draws it), so a move redraws what changed in the figure on screen instead of
    mounting a new chart. on_select (a callable, with selection_mode="points"): a click on a point calls it, and
    `selection.clicked_points(key)` says which (a key of its own is needed then). config: Plotly's, added to the
    dashboard's (no logo, the column's width).
    """
    playing = playing_label() if main or beside_main else None
    if playing and main:
        fig = _with_label(fig, *playing, inside=label_inside)  # a copy: not frozen, sent as it is
    elif playing:
        fig = _banded(fig)[0]
    if not getattr(fig, _FROZEN, False) and not isinstance(fig, Sendable):
        _size(fig)
    own, on_select, config = kwargs.pop("key", None), kwargs.pop("on_select", None), kwargs.pop("config", None)
    clickable = kwargs.pop("selection_mode", None) == "points"
    payload = figure_bytes(fig, clickable, config)
    events = {} if on_select is None else {"on_selection_change": on_select}
    with contextlib.nullcontext() if where is st else where:
        if own is not None:
            return FIGURE(data=payload, key=own, **events, **kwargs)
        return FIGURE(data=payload, key=f"fig-{_place()}", **events, **kwargs)


def figure_bytes(fig: go.Figure, clickable: bool = False, config: dict | None = None) -> bytes:
    """The figure as FIGURE sends it: its dict (`to_dict`'s) as JSON, made once for a kept figure.

    clickable: with the click, hover and drag modes a selecting chart has (`sendable`). config: Plotly's
    config, sent with the figure.
    """
    if getattr(fig, _FROZEN, False) and config is None:
        name = _BYTES_CLICKABLE if clickable else _BYTES
        out = getattr(fig, name, None)
        if out is None:
            out = to_json_plotly(sendable(fig, clickable).to_dict()).encode()
            setattr(fig, name, out)
        return out
    spec = fig.to_dict() if isinstance(fig, Sendable) else as_dict(sendable(fig, clickable))
    return to_json_plotly(spec if config is None else {**spec, "config": config}).encode()


_PLACES = "_sae_figure_places"  # on the script run's context: (the run's cursors, {place: figures drawn there})


def _place() -> str:
    """The key's end for a figure drawn without one: the page and line that draw it, and how many it drew there
    before (fig-<page>-<line>[-<n>]).

    The same figure of a page gets the same key in every run, whatever it shows (a loop's figures are told
    apart by their order); a fragment's run counts its own figures the same way as the page's full run.
    """
    frame = sys._getframe(2)  # chart's caller
    place = f"{Path(frame.f_code.co_filename).stem}-{frame.f_lineno}"
    ctx = get_script_run_ctx()
    if ctx is None:
        return place
    run = getattr(ctx, _PLACES, None)
    if run is None or run[0] is not ctx.cursors:  # a new run (Streamlit gives each run new cursors)
        run = (ctx.cursors, {})
        setattr(ctx, _PLACES, run)
    n = run[1].get(place, 0)
    run[1][place] = n + 1
    return place if n == 0 else f"{place}-{n}"


def download(label: str, make, file_name: str, *, where=st) -> None:
    """A CSV download button (hidden in presenter mode); `make()` builds the bytes only when clicked."""
    if presenting():
        return
    where.download_button(
        label,
        data=make,
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"download-{file_name}",
    )


@st.cache_resource(show_spinner="Loading the test images…")
def test_set():
    """(x_test (10000, 28, 28) float32, y_test (10000,)) from the local MNIST, or None if there is none.

    The dashboard never downloads: it reads $MNIST_PATH or Keras' cached file.
    """
    from core.data import DataError, load_mnist, resolve_source

    if resolve_source() is None:
        return None
    try:
        data = load_mnist()
    except DataError:
        return None
    return data.x_test, data.y_test


SPRITE_KEY = "sae-digit-sprite"  # the hidden container of the test digits' picture (digit_hover.js finds it)
SPRITE_COLS = 50  # digits a row: 50 x 28 = 1,400 px, under Streamlit's widest image (1,460 px; wider is scaled)
DIGIT_HOVER = (Path(__file__).parent / "presentation" / "digit_hover.js").read_text()


@st.cache_resource(show_spinner=False)
def _digit_sprite() -> bytes:
    """One PNG of every local test digit (call only with a local MNIST file: `test_set`)."""
    from app.presentation.images import digit_sprite

    return digit_sprite(test_set()[0], SPRITE_COLS)


def digit_hover(labels) -> None:
    """Let the t-SNE maps on this page show the digit under the pointer (call after the maps are drawn).

    labels: the maps' digit labels, point i being test image i. Only when the local test set is the one the
    maps were made of (the same labels, in order) does the page get its picture: one PNG of every test
    digit in a hidden container, fetched once by the browser, and the script that cuts the digit under
    the pointer out of it (presentation/digit_hover.js). Otherwise the maps' hover says digit and index only.
    """
    test = test_set()
    if test is None or len(test[1]) != len(labels) or not np.array_equal(test[1], labels):
        return
    geometry = json.dumps({"cols": SPRITE_COLS, "side": int(test[0].shape[1]), "n": len(labels)})
    with st.container(key=SPRITE_KEY):
        st.html(
            f"<style>.st-key-{SPRITE_KEY} {{display: none;}}</style>"
            f"<script>window.__saeDigitSprite = {geometry};\n{DIGIT_HOVER}</script>",
            unsafe_allow_javascript=True,
        )
        st.image(_digit_sprite(), output_format="PNG")
