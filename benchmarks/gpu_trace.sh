#!/usr/bin/env bash
# Trace every fixture on a CUDA GPU in one device call and bring back a Markdown report
# (per-module time and peak memory) to commit as docs/gpu_trace.md.
#
# Prepared on a machine without a GPU; run it from the repository root on a lent GPU machine:
#   run(command="bash benchmarks/gpu_trace.sh", timeout_s=540)            # the device image has
#     torch, typer, rich, networkx and pyyaml; the trace API below needs nothing else
# For the CLI check at the end, also carry libcst (missing there) as a wheel in .whl/ (git-ignored):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 -d .whl libcst==1.8.6     # 2.3 MB; pyyaml is there already
#   run(command="bash benchmarks/gpu_trace.sh", carry=[".whl"], timeout_s=540)
# Then copy $OUT/gpu_trace.md (files_at) to docs/gpu_trace.md and say in the closing note what ran.
# A dry run here (`python benchmarks/gpu_trace.py /tmp/out --device meta`, 2 CPU cores) took 75 s for
# the 25 models of 11 fixtures, one child each; on the GPU machine add CUDA start-up per child and
# the 7B model's real weights (27 GB fp32, fits an H100).
set -uo pipefail
OUT="${OUT:-/tmp/gpu_trace_out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/.."

if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} 2>&1 | tee "$OUT/log.txt"

# 1. every fixture, --device cuda, JSON and the Markdown report (gpu_trace.json, gpu_trace.md)
timeout 330 python3 benchmarks/gpu_trace.py "$OUT" --timeout 240 2>&1 | tee -a "$OUT/log.txt"

# 2. the GPU test that skips without CUDA
timeout 60 python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_trace_zoo.py 2>&1 | tee -a "$OUT/log.txt"

# 3. the CLI itself, when libcst came along
if python3 -c "import libcst" 2>/dev/null; then
    timeout 60 python3 -m repo_reader trace fixtures/trace_zoo --model small_cnn.SmallCNN --device cuda --format json \
        > "$OUT/cli_small_cnn.json" 2>>"$OUT/log.txt"
    echo "cli: exit $?" | tee -a "$OUT/log.txt"
fi
ls -l "$OUT"
