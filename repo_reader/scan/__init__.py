"""Scanning: find the repository's source files, read them robustly, and collect per-file facts."""
