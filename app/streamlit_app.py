"""Start the dashboard:

    streamlit run app/streamlit_app.py

Streamlit finds the app below and serves the dashboard's script, app/dashboard.py (navigation, the shared
sidebar, the pages). As the server starts, before any browser has connected, it does the first page's
imports and reads the cache listing (app/startup.py), so the first visitor's page does not wait for them.
`streamlit run app/dashboard.py` runs the same dashboard without that head start.
"""

import contextlib
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `core` and `app` importable


@contextlib.asynccontextmanager
async def _lifespan(_app):
    from app import startup

    startup.begin()  # in a thread: the server answers at once
    yield


streamlit_app = st.App("dashboard.py", lifespan=_lifespan)
