"""Dashboard entry point (placeholder until the dashboard issue lands).

The dashboard will show, for any (lambda_k, lambda_a) of the grid, the loss and
sparsity curves, the encoder's filters, reconstructions, cosine-similarity
box plots, t-SNE maps and K-means silhouettes, read from models_cache/.
"""

import streamlit as st

st.set_page_config(page_title="What regularization does to a hidden code", layout="wide")
st.title("What regularization does to a neural network's hidden code")
st.info(
    "The interactive dashboard is coming next. For now, train the models it will show with "
    "`python -m core train` and see what is ready with `python -m core status`."
)
