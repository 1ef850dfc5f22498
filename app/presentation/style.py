"""The look every figure shares: colours, the Plotly template, the legend, and the options pages pass.

Colours are colour-blind safe: the `Safe` qualitative palette for the ten
digits, Okabe-Ito blue/vermillion for two-series lines (with a second cue,
dash and marker symbol), vermillion also for "look here" marks.
"""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

DIGIT_COLORS = tuple(px.colors.qualitative.Safe[:10])  # colour of digit d is DIGIT_COLORS[d]
BLUE = "#0072B2"  # Okabe-Ito blue: first series of a two-series chart
VERMILLION = "#D55E00"  # Okabe-Ito vermillion: second series, and "look here" marks
ORANGE = "#E69F00"  # Okabe-Ito orange: a third category
MEAN_LINE = "red"  # DESIGN §1: the classic silhouette plot's dashed red mean line
GREYS = [[0.0, "black"], [1.0, "white"]]
TEMPLATE = "sae"  # plotly_white, registered once under this name and made Plotly's default (see use_template)
# px below a plot whose x axis has a title and one tick label per λ: enough for Plotly to tilt the labels
# where they crowd (half a 1280 px page) without growing the margin and drawing the figure a second
# time (measured in Chromium: 82 px needed at 12 px text, 110 px at presenter mode's 18 px)
AXIS_BAND, AXIS_BAND_PRESENTING = 84, 116
LEGEND_TOP = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)  # one row above the plot


def use_template() -> None:
    """Register the figures' template once and make it Plotly's default.

    A figure then receives it when it is created, without a copy: naming a template in
    `update_layout(template=...)` validates and deep-copies all of it, about 16-40 ms per figure.
    Streamlit sets its own default when it is imported, so `app.chrome` calls this again after it.
    """
    if TEMPLATE not in pio.templates:
        pio.templates[TEMPLATE] = pio.templates["plotly_white"]
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


def figure(data: list[dict], layout: dict, text: str, /, *, frames: list | None = None, **options) -> go.Figure:
    """A finished figure (as `finish` makes it) from plain trace and layout dicts, built without Plotly
    checking every property: about 1 ms against 7-10 ms for update_layout on an overview figure (the
    overview's first visit of a model builds four). text: the title; options: as for `finish`."""
    if pio.templates.default != TEMPLATE:
        use_template()
    spec = dict(data=list(data), layout=_merged(layout, _options(text, options)), frames=frames or [])
    return go.Figure(spec, _validate=False)


def note(fig: go.Figure, text: str) -> None:
    """A line of text in the middle of an empty figure (why there is nothing to see)."""
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
