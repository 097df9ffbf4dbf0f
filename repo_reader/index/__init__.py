"""Indexing: cross-file name resolution and the class hierarchy, built from every module's facts."""
