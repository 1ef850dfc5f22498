"""Start the dashboard:

    streamlit run app/streamlit_app.py

Streamlit finds the app below and serves the dashboard's script, app/dashboard.py (navigation, the shared
sidebar, the pages). As the server starts, before any browser has connected, it does the first page's
imports and reads the cache listing (app/startup.py), so the first visitor's page does not wait for them,
and its connections send their answers without waiting (app/startup.py: switch_off_nagle). A fresh tab gets
Streamlit's page code sooner, and its elements' code before they arrive (app/serving.py).
`streamlit run app/dashboard.py` runs the same dashboard without that head start.
"""

import contextlib
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `core` and `app` importable

from app import serving, startup  # noqa: E402 - light: the standard library and Streamlit's own modules

startup.switch_off_nagle()  # before the server accepts a connection: see there


@contextlib.asynccontextmanager
async def _lifespan(_app):
    startup.begin()  # in a thread: the server answers at once
    yield


streamlit_app = st.App("dashboard.py", lifespan=_lifespan, middleware=serving.middleware())
