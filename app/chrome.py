"""Page chrome: a page's title and intro, how charts and downloads are drawn, the local test images."""

from __future__ import annotations

import streamlit as st

from app.selection import presenting

PRESENTER_FONT = 17  # px: Plotly's default is 12, too small for a projector
PRESENTER_SCALE = 1.25


def page_intro(title: str, plain: str, technical: str) -> None:
    """A page's title, two or three plain sentences, and the technical detail in an expander."""
    st.title(title)
    st.markdown(plain)
    if not presenting():
        with st.expander("Technical details"):
            st.markdown(technical)


def chart(fig, *, where=st, **kwargs):
    """st.plotly_chart(fig, width="stretch"), larger in presenter mode; returns its selection event."""
    if presenting():
        fig.update_layout(
            font=dict(size=PRESENTER_FONT),
            title=dict(font=dict(size=PRESENTER_FONT + 4)),
            height=int((fig.layout.height or 450) * PRESENTER_SCALE),
        )
    return where.plotly_chart(fig, width="stretch", **kwargs)


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
