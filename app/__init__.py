"""The Streamlit dashboard (only this package imports streamlit)."""
