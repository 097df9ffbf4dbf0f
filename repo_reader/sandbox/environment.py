"""The child's environment: a short allow-list of the parent's variables, the offline switches of the
usual libraries, and HOME, TMPDIR and the caches in the child's temporary folder. Standard library only.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

from repo_reader.sandbox.channel import FD_VARIABLE

OFFLINE_ENVIRONMENT = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
}
# what Python and torch read from the parent's environment; everything else (tokens, keys) stays out
PASSED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "CUDA_HOME",
          "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "PYTORCH_CUDA_ALLOC_CONF",
          "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
MARKER_VARIABLE = "REPO_READER_SANDBOX_ID"  # inherited by the child's descendants: found and stopped by it


def child_environment(workdir: Path, marker: str, result_fd: int) -> dict[str, str]:
    """The whole environment of one child (nothing else of the parent's is inherited)."""
    environment = {name: os.environ[name] for name in PASSED if name in os.environ}
    environment |= OFFLINE_ENVIRONMENT
    environment |= {
        "PATH": os.pathsep.join(dict.fromkeys([str(Path(sys.executable).parent), *SYSTEM_PATH])),
        "HOME": str(workdir),
        "TMPDIR": str(workdir / "tmp"),
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "TORCH_HOME": str(workdir / "torch-home"),
        "HF_HOME": str(workdir / "hf-home"),
        MARKER_VARIABLE: marker,
        FD_VARIABLE: str(result_fd),
    }
    user_site = user_base()
    if user_site:  # HOME moved: keep `pip install --user` packages importable
        environment["PYTHONUSERBASE"] = user_site
    environment.setdefault("LANG", "C.UTF-8")
    return environment


def user_base() -> str:
    """The parent's user base when its user site-packages is on sys.path; "" otherwise."""
    if not site.ENABLE_USER_SITE:
        return ""
    packages = site.getusersitepackages()
    return site.getuserbase() if packages in sys.path and os.path.isdir(packages) else ""
