"""IDE-style navigation over the static map: the reading tour, go-to-definition, callers and callees.

`tour` and `lookup` are pure passes over an `Analysis`; `sources` reads files for excerpts and views.
"""
