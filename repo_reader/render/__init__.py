"""Renderers: turn result types into rich printouts, JSON, Markdown and other formats. No analysis here."""
