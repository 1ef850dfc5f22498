"""The dashboard's script: navigation, the shared sidebar, and the preparation's progress.

    streamlit run app/streamlit_app.py      (which serves this script: see there)

Every page reads finished artifacts from models_cache/ (see core.results);
nothing here imports TensorFlow. The dashboard opens on the overview with
whatever is ready; preparing the grid (training and analysing, in a separate
`python -m core prepare` process) fills it in while people look around.
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `core` and `app` importable under streamlit run

import streamlit as st  # noqa: E402

from app import scripts, startup  # noqa: E402 - light: streamlit only

# the tab's icon: a small sparse code (a file here: a Material icon is fetched from Google's servers, which a
# projector's laptop offline cannot reach)
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
st.set_page_config(page_title="What regularization does to a hidden code", page_icon=str(ICON), layout="wide")
scripts.page_scripts()  # first: the browser starts loading the chart code while the rest of the run goes on
startup.wait()  # the server's start-up work (imports, the cache's listing), if it is still going on
startup.run_began()  # (the start-up work imports the tables' modules once runs have paused)
startup.plotly_sees_whole_modules()  # before any figure: a pandas another thread is importing is not there yet

from app import guards, jobs, presenter, selection  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"
PAGE_LIST = [  # (file in app/views, title, icon); the first is the default page
    ("overview", "Overview: loss and sparsity", ":material/show_chart:"),
    ("filters", "Filters", ":material/grid_view:"),
    ("reconstructions", "Reconstructions", ":material/image:"),
    ("similarity", "Similarity", ":material/candlestick_chart:"),
    ("tsne", "t-SNE maps", ":material/scatter_plot:"),
    ("clusters", "Clusters", ":material/workspaces:"),
    ("units", "Unit explorer", ":material/neurology:"),
    ("digit", "Your digit", ":material/draw:"),
    ("frontier", "Sparsity–fidelity trade-off", ":material/balance:"),
    ("compare", "Compare two models", ":material/compare:"),
]
PAGES = [
    st.Page(VIEWS / f"{name}.py", title=title, icon=icon, default=i == 0)
    for i, (name, title, icon) in enumerate(PAGE_LIST)
]
FILE_OF = {title: name for name, title, _ in PAGE_LIST}
MAP_PAGES = ("tsne", "clusters")  # the pages that need a model's maps (its slow stage)


def _failed(e: Exception) -> None:
    """The last guard: a visitor never sees a traceback (st.rerun is a BaseException and passes through)."""
    logging.getLogger("app").exception("page failed")
    st.error(
        f"Something went wrong while drawing this page ({type(e).__name__}). Try another model or page; "
        "if a model's files are damaged, `python -m core prepare` recomputes them.",
        icon=":material/error:",
    )


try:
    st.session_state.pop("_waiting", None)  # a page that waits for a model says so again below
    page = st.navigation(PAGES)
    name = FILE_OF.get(page.title, "")
    sel, notices, landed = selection.sidebar(maps=name in MAP_PAGES)
    panel = st.sidebar.container()  # the readiness map and the preparation's controls: filled after the page
    presenter.sidebar_tools()
    for notice in notices:
        st.warning(notice, icon=":material/link:")
    if landed:
        st.caption(f":material/info: {landed}")
    presenter.tour_banner(name)
    try:
        page.run()
        st.session_state.pop("_compile_retried", None)
        presenter.page_drawn()
    except guards.PageEnds:  # the page said all it can (a model not ready yet: its waiting panel)
        pass
    except SystemError as e:
        # Python 3.11's compiler keeps one AST recursion counter for all threads (python/cpython#106905):
        # compiling a page's script the first time while another thread compiles (an import) can fail with
        # "AST constructor recursion depth mismatch" before any of the page has run. Compile it again, once.
        if "recursion depth mismatch" not in str(e) or st.session_state.get("_compile_retried"):
            _failed(e)
        else:
            st.session_state["_compile_retried"] = True
            st.rerun()
    except Exception as e:  # noqa: BLE001 - the page failed: say so, and still draw the sidebar's map
        _failed(e)
    # after the page, so that the page's figures reach the browser first and the map a moment later
    jobs.sidebar_panel(sel, where=panel)
except Exception as e:  # noqa: BLE001 - the sidebar or the map failed
    _failed(e)
startup.run_ended()
