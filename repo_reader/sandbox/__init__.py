"""The child process that runs a repository's code: its isolation (bubblewrap, or process limits where
bubblewrap is missing), its lifetime, the result channel and the child's own preparation.

Standard library only, and nothing else from repo_reader: `trace/` and the dynamic checks use it.
"""
