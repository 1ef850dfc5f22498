"""The page's own scripts, sent first thing in every run (before the app's heavier imports).

* Streamlit's Plotly code (a 4.7 MB module, which sets window.Plotly) is what the dashboard's figures
  are drawn with; Streamlit would load it only with a chart of its own. This starts loading it at once,
  so that the browser reads it while the server still works (`PRELOAD`).
* redraw.js: draws a move's new figures one per frame, the first in sight at once, the others in sight
  next and those below the fold last, so that the figure a visitor looks at is shown without waiting
  for the rest. (The figures themselves are drawn in place: app.chrome.FIGURE, presentation/figure.js.)

Both sit in a hidden container at the top of the page: the same element every run, so the browser runs
them once per tab. Without redraw.js the page draws the same, only slower; without the preload (a
Streamlit whose Plotly module is not found: MODULE is None) no figure is drawn, and each says so
(figure.js). tests/test_e2e_redraw.py checks that the module is found and loaded once.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

KEY = "sae-scripts"  # the container's key: hidden by its own style (class st-key-sae-scripts)


def _plotly_module() -> str | None:
    """The file name of Streamlit's Plotly chart module (PlotlyChart.<hash>.js), or None if not exactly one."""
    found = sorted((Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


MODULE = _plotly_module()
# the module's address is relative to Streamlit's own entry script (static/js/index.<hash>.js): importing
# it from there gives the browser the very module the chart code would load (one copy, loaded once)
PRELOAD = """(function () {
  if (window.__saePreload) return;
  window.__saePreload = true;
  const entry = [...document.querySelectorAll("script[src]")].map((s) => s.src)
    .find((src) => /\\/static\\/js\\/index\\.[^/]+\\.js$/.test(src));
  if (entry) import(new URL("./%s", entry).href).catch(() => {});
})();"""
REDRAW = (Path(__file__).parent / "presentation" / "redraw.js").read_text()


def page_scripts() -> None:
    """Send the page's scripts (call before anything else the page draws)."""
    body = f"<style>.st-key-{KEY} {{display: none;}}</style><script>{REDRAW}</script>"
    if MODULE:
        body += f"<script>{PRELOAD % MODULE}</script>"
    with st.container(key=KEY):
        st.html(body, unsafe_allow_javascript=True)
