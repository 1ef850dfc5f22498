"""The page's own scripts, sent first thing in every run (before the app's heavier imports).

* Plotly, which draws the dashboard's figures (window.Plotly): the dashboard's own partial bundle,
  app/static/plotly-sae.min.js (1.6 MB: only the trace types the dashboard draws, built by
  app/presentation/plotly/build.js from the plotly.js the Python package `plotly` writes figures for),
  served by Streamlit's static file serving (.streamlit/config.toml). The full plotly.js (Streamlit's
  chart module, 4.7 MB) held the browser 1.2-1.8 s before the first figure on the 2-core development
  machine; this one 0.2-0.3 s. The preload starts loading it at once, so that the browser reads it while
  the server still works (`PRELOAD`). Where the bundle cannot be fetched (the server started without
  the project's config, so without static serving) it loads Streamlit's module instead (`MODULE`).
* The code of the page's elements: Streamlit fetches each kind of element's code (its slider, its radio,
  the figure's component...) only when the first element of that kind arrives, so on a fresh tab that
  waits until the server's first run has got that far, and the elements of the first page (its figures
  too) then wait for a row of small fetches the server answers slowly while it runs. The preload asks
  for them at once (`ELEMENTS`), in the time the server spends on its first run: the same files that
  Streamlit would import, loaded and evaluated once. (Served by the launcher, the page starts them sooner
  still, and so that no element waits for its code: app/serving.py.)
* redraw.js: draws a move's new figures one per frame, the first in sight at once, the others in sight
  next and those below the fold last, so that the figure a visitor looks at is shown without waiting
  for the rest. (The figures themselves are drawn in place: app.chrome.FIGURE, presentation/figure.js.)

Both sit in a hidden container at the top of the page: the same element every run, so the browser runs
them once per tab. Without redraw.js the page draws the same, only slower; without either Plotly no
figure is drawn, and each says so (figure.js). tests/test_e2e_redraw.py checks that the bundle is what
the page loads, once; tests/test_plotly_bundle.py that it is the right plotly.js with every trace type.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

KEY = "sae-scripts"  # the container's key: hidden by its own style (class st-key-sae-scripts)


STREAMLIT_JS = Path(st.__file__).parent / "static" / "static" / "js"


def _chunk(name: str) -> str | None:
    """The file name of Streamlit's frontend module `name` (`name`.<hash>.js), or None if not exactly one."""
    found = sorted(STREAMLIT_JS.glob(f"{name}.*.js"))
    return found[0].name if len(found) == 1 else None


MODULE = _chunk("PlotlyChart")
# The kinds of element every page of the dashboard shows, as Streamlit names their code: the sidebar's sliders,
# radios, toggles (Checkbox) and buttons, the figures (BidiComponent: app.chrome.FIGURE), the metrics, the
# downloads and the preparation's progress bar. (Pages that show more — the unit explorer's number input and
# table — fetch theirs when they are first opened, as Streamlit does.)
ELEMENT_KINDS = ("BidiComponent", "Slider", "Radio", "Checkbox", "Button", "Metric", "DownloadButton", "Progress")
ELEMENTS = [c for c in map(_chunk, ELEMENT_KINDS) if c]  # a Streamlit without one of them: that one is not preloaded
BUNDLE = Path(__file__).parent / "static" / "plotly-sae.min.js"
BUNDLE_URL = "app/static/plotly-sae.min.js"  # where static serving puts it, relative to the app's base URL
# Addresses are relative to Streamlit's own entry script (<base>/static/js/index.<hash>.js), so that they
# hold under any base URL path. Streamlit's module, if it is needed, is the very one its chart code would
# load (one copy, loaded once).
PRELOAD = """(function () {
  if (window.__saePreload) return;
  window.__saePreload = true;
  const entry = [...document.querySelectorAll("script[src]")].map((s) => s.src)
    .find((src) => /\\/static\\/js\\/index\\.[^/]+\\.js$/.test(src));
  if (!entry) return;
  const fallback = () => {
    if (%(module)s && !window.Plotly) import(new URL("./" + %(module)s, entry).href).catch(() => {});
  };
  const script = document.createElement("script");
  script.src = new URL("../../%(bundle)s", entry).href;
  script.onerror = fallback;
  script.onload = () => { if (!window.Plotly) fallback(); };
  document.head.appendChild(script);
  for (const chunk of %(elements)s) import(new URL("./" + chunk, entry).href).catch(() => {});
})();"""
REDRAW = (Path(__file__).parent / "presentation" / "redraw.js").read_text()


def page_scripts() -> None:
    """Send the page's scripts (call before anything else the page draws)."""
    body = f"<style>.st-key-{KEY} {{display: none;}}</style><script>{REDRAW}</script>"
    module = json.dumps(MODULE)  # null where Streamlit's module is not found: then the bundle alone
    elements = json.dumps(ELEMENTS)
    body += f"<script>{PRELOAD % {'module': module, 'bundle': BUNDLE_URL, 'elements': elements}}</script>"
    with st.container(key=KEY):
        st.html(body, unsafe_allow_javascript=True)
