"""The look every figure shares: colours, the Plotly template, the legend, and the options pages pass.

Colours are colour-blind safe: the `Safe` qualitative palette for the ten
digits, Okabe-Ito blue/vermillion for two-series lines (with a second cue,
dash and marker symbol), vermillion also for "look here" marks.
"""

from __future__ import annotations

import base64

import numpy as np
import plotly.colors as colors
import plotly.graph_objects as go
import plotly.io as pio

DIGIT_COLORS = tuple(colors.qualitative.Safe[:10])  # colour of digit d is DIGIT_COLORS[d]
BLUE = "#0072B2"  # Okabe-Ito blue: first series of a two-series chart
VERMILLION = "#D55E00"  # Okabe-Ito vermillion: second series, and "look here" marks
ORANGE = "#E69F00"  # Okabe-Ito orange: a third category
MEAN_LINE = "red"  # DESIGN §1: the classic silhouette plot's dashed red mean line
GREYS = [[0.0, "black"], [1.0, "white"]]
TEMPLATE = "sae"  # plotly_white's parts we use, registered once under this name and made the default (use_template)
# px below a plot whose x axis has a title and flat λ tick labels (charts.labelled_ticks), with a few px to
# spare: less, and Plotly grows the margin and draws the figure a second time (measured in Chromium: 53 px
# needed at 12 px text, 65 px at presenter mode's 18 px)
AXIS_BAND, AXIS_BAND_PRESENTING = 60, 74
LEGEND_TOP = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)  # one row above the plot


# what the dashboard draws: the trace types (its Plotly bundle holds these alone: app/presentation/plotly);
# the layout parts it never uses
TRACES_DRAWN = ("bar", "box", "image", "scatter", "scattergl")
LAYOUT_UNUSED = ("geo", "polar", "scene", "ternary")


def template() -> go.layout.Template:
    """plotly_white, only the parts the dashboard's figures use.

    Every figure carries its template: plotly_white's whole is 7.2 KB of JSON, styling 24 kinds of trace
    and the maps', polar and 3-D plots' layouts, and Plotly copies it into each figure it creates (about 3
    ms, a third of a t-SNE map's build). The dashboard draws five of those kinds and none of those
    plots; what it draws looks exactly the same (a test checks every figure builder against the lists).
    """
    full = pio.templates["plotly_white"].to_plotly_json()
    data = {kind: traces for kind, traces in full["data"].items() if kind in TRACES_DRAWN}
    layout = {key: value for key, value in full["layout"].items() if key not in LAYOUT_UNUSED}
    return go.layout.Template(data=data, layout=layout)


def use_template() -> None:
    """Register the figures' template (`template`) once and make it Plotly's default.

    A figure then receives it when it is created, without validating it: naming a template in
    `update_layout(template=...)` validates and deep-copies all of it, about 16-40 ms per figure.
    Streamlit sets its own default when it is imported, so `app.chrome` calls this again after it.
    """
    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = template()
    pio.templates.default = TEMPLATE


use_template()


def _options(text: str, options: dict) -> dict:
    """The layout options of `finish` and `figure`: those given, None left out, the title's text set."""
    out = {k: v for k, v in options.items() if v is not None}
    out["title"] = (out.get("title") or {}) | dict(text=text)
    return out


def finish(fig: go.Figure, text: str, /, **layout) -> go.Figure:
    """Title and any other layout options in one update; options given as None are left out.

    Builders pass the pages' options (height=, margin=) through here, so a page never edits a finished figure.
    The template comes with the figure (Plotly's default, see `use_template`); a figure created under another
    default gets it here, the slow way. text: the title; title= may give the title's other options (a dict).
    """
    layout = _options(text, layout)
    if pio.templates.default != TEMPLATE:
        use_template()
        layout["template"] = TEMPLATE
    fig.update_layout(**layout)
    return fig


def _merged(base: dict, more: dict) -> dict:
    """base with more's keys set, nested dicts merged key by key (as update_layout does)."""
    out = dict(base)
    for k, v in more.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def figure(data: list[dict], layout: dict, text: str, /, **options) -> go.Figure:
    """A finished figure (as `finish` makes it) from plain trace and layout dicts, built without Plotly
    checking every property: about 1 ms against 7-10 ms for update_layout on an overview figure (the
    overview's first visit of a model builds four). text: the title; options: as for `finish`."""
    if pio.templates.default != TEMPLATE:
        use_template()
    spec = dict(data=list(data), layout=_merged(layout, _options(text, options)))
    return go.Figure(spec, _validate=False)


# plotly.js typed arrays: numpy dtype -> its name there (as Plotly's to_dict writes them)
_TYPED = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4"}
_TYPED |= {"float32": "f4", "float64": "f8"}
_NOT_TYPED = frozenset({"geojson", "layer", "layers", "range"})  # keys whose arrays Plotly leaves as they are


def as_dict(fig: go.Figure) -> dict:
    """`fig.to_dict()`, the same dict, made without its deep copy and its per-array checks.

    Plotly's `to_dict` deep-copies the figure and then asks, for every value, whether it is a pandas,
    polars or other data frame before it writes a numpy array as a base64 typed array: 8-14 ms for a
    t-SNE glide (20 traces of 10,000 points), most of a t-SNE move's figure work. Here numeric numpy
    arrays are written directly, and anything else goes through Plotly's own functions, so the result is
    exactly `to_dict`'s (a test compares them for every figure builder). The dict may share arrays and
    strings with the figure: it is for sending, never edited.
    """
    out = {"data": [_plain(trace) for trace in fig._data], "layout": _plain(fig._layout)}
    frames = [_plain(frame._props) for frame in fig._frame_objs]
    if frames:
        out["frames"] = frames
    return out


def _plain(value, key: str | None = None):
    """`value` as `to_dict` writes it under `key` (its dict key, None inside a list)."""
    if key in _NOT_TYPED:
        return value  # to_dict leaves what is under these keys as it is, nested arrays included
    if isinstance(value, dict):
        return {k: _plain(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if value is None or isinstance(value, (str, bool, int, float)) or key is None:
        return value  # an array directly inside a list stays as it is (as in to_dict)
    name = _TYPED.get(str(value.dtype)) if isinstance(value, np.ndarray) and value.size else None
    if name is not None:  # a plain numeric array (64-bit integers, narrowed first, go the way below)
        spec = {"dtype": name, "bdata": base64.b64encode(np.ascontiguousarray(value)).decode("ascii")}
        if value.ndim > 1:
            spec["shape"] = str(value.shape)[1:-1]
        return spec
    from _plotly_utils.utils import is_homogeneous_array, to_typed_array_spec

    return to_typed_array_spec(value) if is_homogeneous_array(value) else value


def note(fig: go.Figure, text: str) -> None:
    """A line of text in the middle of an empty figure (why there is nothing to see)."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
