"""repo-reader: a source-reading assistant for PyTorch repositories."""

__version__ = "0.1.0"
