"""`repo-reader check`: PyTorch pitfall rules over the parsed repository (static, never runs the code).

Imports the standard library, `scan`, `index` and `model`; libcst only in `fix`. Never torch.
"""
