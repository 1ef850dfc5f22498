"""Dashboard entry point: navigation, the shared sidebar, and the first-run guidance.

    streamlit run app/streamlit_app.py

Every page reads finished artifacts from models_cache/ (see core.results);
nothing here imports TensorFlow. Training, when asked for, runs in a separate
`python -m core prepare` process.
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `core` and `app` importable under streamlit run

import streamlit as st  # noqa: E402

from app import presenter, state  # noqa: E402
from core.config import SweepGrid  # noqa: E402

st.set_page_config(
    page_title="What regularization does to a hidden code", page_icon=":material/neurology:", layout="wide"
)

VIEWS = Path(__file__).resolve().parent / "views"
PAGE_LIST = [  # (file in app/views, title, icon); the first is the default page
    ("overview", "Overview: loss and sparsity", ":material/show_chart:"),
    ("filters", "Filters", ":material/grid_view:"),
    ("reconstructions", "Reconstructions", ":material/image:"),
    ("similarity", "Similarity", ":material/candlestick_chart:"),
    ("tsne", "t-SNE maps", ":material/scatter_plot:"),
    ("clusters", "Clusters", ":material/workspaces:"),
    ("units", "Unit explorer", ":material/neurology:"),
    ("frontier", "Sparsity–fidelity trade-off", ":material/balance:"),
    ("compare", "Compare two models", ":material/compare:"),
]
PAGES = [
    st.Page(VIEWS / f"{name}.py", title=title, icon=icon, default=i == 0)
    for i, (name, title, icon) in enumerate(PAGE_LIST)
]
FILE_OF = {title: name for name, title, _ in PAGE_LIST}


def first_run() -> None:
    """Shown instead of every page while the cache holds no model at all."""
    default = SweepGrid.default()
    n = len(default.lambda_k) * len(default.lambda_a)
    st.title("What regularization does to a neural network's hidden code")
    st.markdown(
        "This dashboard shows how a small neural network (an *autoencoder*) compresses images of handwritten "
        "digits into a code of 196 numbers, and what two kinds of **regularization** — penalties that push "
        "the network towards simpler solutions — do to that code."
    )
    st.info(
        f"No trained models yet. The dashboard needs the {n} models of its grid, trained and analysed once "
        "(about 23 minutes on a 2-core machine). Start it here, or in a terminal with `python -m core prepare`.",
        icon=":material/waving_hand:",
    )
    state.job_panel(list(default.lambda_k), list(default.lambda_a), label=f"Prepare all {n} models")


try:
    if not state.cells():
        first_run()
    else:
        page = st.navigation(PAGES)
        state.sidebar()
        presenter.sidebar_tools()
        presenter.tour_banner(FILE_OF.get(page.title, ""))
        page.run()
except Exception as e:  # noqa: BLE001 - the last guard: a visitor never sees a traceback
    # (st.stop and st.rerun are BaseExceptions and pass through)
    logging.getLogger("app").exception("page failed")
    st.error(
        f"Something went wrong while drawing this page ({type(e).__name__}). Try another model or page; "
        "if a model's files are damaged, `python -m core prepare` recomputes them.",
        icon=":material/error:",
    )
