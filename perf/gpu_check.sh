#!/usr/bin/env bash
# One command for a GPU machine: install if needed, then compare `bench run` with diffusers' pipeline.
# Usage: perf/gpu_check.sh [--tiny] [--repeats N]     (ends well inside 8 minutes on an H200)
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import bench, k_diffusion, diffusers" 2>/dev/null || pip install -q -e .
exec python perf/gpu_check.py "$@"
