"""Sparse-autoencoder regularization study: the engine behind the dashboard.

`core` trains one autoencoder per (lambda_k, lambda_a) cell on MNIST, caches
it in `models_cache/` with the analyses the app shows. It
never imports Streamlit, and it imports TensorFlow only on the paths that
train (see `core.train` and `core.model`).
"""

__version__ = "0.1.0"
