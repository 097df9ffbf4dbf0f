"""Parent side: whether `--device cuda` can work here, asked before any work starts. Standard library only:
the answer comes from the GPU's device nodes, then from a plain `torch.cuda.is_available()` in a child
interpreter (no repository code runs there)."""

from __future__ import annotations

import subprocess
import sys

from repo_reader.sandbox.isolation import gpu_nodes

PROBE = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)"  # 1: torch failed
PROBE_SECONDS = 120.0


def cuda_missing() -> str | None:
    """Why CUDA cannot be used here, or None when it can (or when the probe itself cannot tell: the
    trace then reports what happened)."""
    if sys.platform.startswith("linux") and not gpu_nodes():
        return "no NVIDIA device nodes (/dev/nvidia*) on this machine"
    try:
        done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, timeout=PROBE_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode == 3:
        return "torch.cuda.is_available() is False"
    return None
