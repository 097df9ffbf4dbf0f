"""The dynamic side: build a model from the repository and record its shapes, in a child process.

The parent side (`targets`, `runner`, `api`) imports only the standard library; the child side
(`child`, `downloads`, `construct`, `inputs`, `recorder`, `flops`, `flags`, `locations`) imports torch.
The child process itself (isolation, lifetime, result channel) is `repo_reader.sandbox`.
"""
