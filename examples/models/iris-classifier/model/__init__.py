"""Iris classifier: a scikit-learn model that follows the model image contract."""
