"""The dashboard's own plotly.js (app/static/plotly-sae.min.js, built by app/presentation/plotly/build.js).

It holds only the trace types the dashboard draws: it must be the plotly.js that the Python package
`plotly` writes figures for, and hold every trace type that any page's figure uses. (That the page loads
it, once, and that Chromium finds those trace types in it: tests/test_e2e_redraw.py.)
"""

from __future__ import annotations

import re

import plotly.offline

from app import scripts
from app.presentation import style
from apptest import PAGES, app, figure_elements, figure_spec

BANNER = re.compile(r"/\* plotly\.js v(\S+) .*?traces: ([a-z0-9,]+);")


def bundle() -> tuple[str, set[str]]:
    """(plotly.js version, trace types) as the bundle's first comment names them."""
    head = scripts.BUNDLE.read_text(encoding="utf-8")[:600]
    found = BANNER.match(head)
    assert found, f"the bundle starts with its plotly.js version and traces: {head[:200]!r}"
    return found[1], set(found[2].split(","))


def test_the_bundle_is_the_plotly_js_that_python_writes_figures_for():
    version, traces = bundle()
    assert version == plotly.offline.get_plotlyjs_version()
    assert scripts.BUNDLE.stat().st_size < 2_500_000  # a partial bundle: the full one is 4.8 MB
    assert set(style.TRACES_DRAWN) == traces


def test_every_figure_of_every_page_uses_a_trace_type_the_bundle_holds(tiny_cache, monkeypatch):
    _, traces = bundle()
    at = app(tiny_cache, monkeypatch)
    used: dict[str, set[str]] = {}
    for page in [*PAGES, "digit"]:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, page
        for element in figure_elements(at.main) + figure_elements(at.sidebar):
            for trace in figure_spec(element)["data"]:
                used.setdefault(trace.get("type", "scatter"), set()).add(page)
    # the pages draw lines, bars, boxes, pictures and 10,000-point WebGL maps: the test sees them all
    assert {"scatter", "scattergl", "bar", "box", "image"} <= set(used), used
    assert set(used) <= traces, {t: pages for t, pages in used.items() if t not in traces}
    assert set(used) == set(style.TRACES_DRAWN)  # nothing in the bundle that no page draws
