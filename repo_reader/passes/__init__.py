"""Passes over the indexed repository: roles, entry points, models, call graph, chains."""
