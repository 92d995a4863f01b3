#!/usr/bin/env bash
# Training throughput on the GPU lanes against cpp_standalone (docs/lanes/genn.md, cuda.md).
#
#   benchmarks/gpu.sh prepare WHEELHOUSE      # on a machine with network access: download wheels
#   benchmarks/gpu.sh run WHEELHOUSE [N]      # on the GPU machine (no network needed)
#
# "run" creates three environments from the wheels in WHEELHOUSE (pip --no-index):
#   default (Python 3.11, the core pins), genn (Python 3.11, the genn extra),
#   cuda (Python 3.12, the cuda extra); then runs the nmnist throughput workload
#   (2312-800-10, T = 30, ~5 % of inputs active per step, generated data, OPZO,
#   one update per sample; N samples, default 200) on cpp_standalone, on genn
#   (GPU backend) and on cuda_standalone, and prints samples/s and ratios.
#   benchmarks/throughput.py is used when it accepts --device, else
#   benchmarks/lane_throughput.py (the same workload, runs on all three lanes).
#
# The machine needs: an NVIDIA GPU with its driver (nvidia-smi), g++, python3.11 and
# python3.12 (or PYTHON311/PYTHON312), a CUDA toolkit with nvcc at CUDA_PATH (CUDA <= 12.x
# for GeNN 4.9's GPU backend; brian2cuda also builds with 13.x), cuRAND (in the toolkit,
# or BIOOPZO_CURAND_DIR), and a GeNN 4.x source tree at GENN_PATH (GeNN's installation
# guide; not part of this repository). A lane whose pieces are missing is skipped with
# the reason. Compilation uses make -j2 at most (MAKEFLAGS) under nice.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-}
WHEELS=${2:-}
N=${3:-200}
PY311=${PYTHON311:-python3.11}
PY312=${PYTHON312:-python3.12}
WORK=${BIOOPZO_GPU_WORK:-$ROOT/.gpu-bench}
EXTRA_DEPS="scipy>=1.10 scikit-learn>=1.3 mnist1d>=0.0.2 matplotlib>=3.7 tomli-w>=1.0 tqdm>=4.60"

extra() {  # the requirement lines of a pyproject extra
  "$PY311" -c "import sys, tomllib; print('\n'.join(tomllib.load(open('$ROOT/pyproject.toml', 'rb'))['project']['optional-dependencies'][sys.argv[1]]))" "$1"
}

if [[ -z "$MODE" || -z "$WHEELS" ]]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

if [[ "$MODE" == prepare ]]; then
  mkdir -p "$WHEELS"
  "$PY311" -m pip download -d "$WHEELS" "$ROOT" setuptools wheel
  mapfile -t GENN_REQS < <(extra genn)
  "$PY311" -m pip download -d "$WHEELS" "${GENN_REQS[@]}" "pyparsing<3.3" $EXTRA_DEPS
  "$PY312" -m pip download -d "$WHEELS" "$ROOT[cuda]" setuptools wheel
  echo "wheels in $WHEELS"
  exit 0
fi
[[ "$MODE" == run ]] || { echo "unknown mode $MODE (prepare or run)" >&2; exit 2; }

export MAKEFLAGS=-j2
mkdir -p "$WORK"
pipx() { "$1/bin/python" -m pip install --quiet --no-index --find-links "$WHEELS" "${@:2}"; }

declare -A RESULT
bench() {  # lane python device [env...]
  local py=$1 device=$2; shift 2
  local script="$ROOT/benchmarks/lane_throughput.py"
  if [[ -f "$ROOT/benchmarks/throughput.py" ]] && "$py" "$ROOT/benchmarks/throughput.py" --help 2>/dev/null | grep -q -- "--device"; then
    script="$ROOT/benchmarks/throughput.py"
  fi
  echo "== $device ($script)"
  local out
  if out=$(cd "$ROOT" && env "$@" nice "$py" "$script" --device "$device" --samples "$N" | tail -1); then
    echo "$out"
    RESULT[$device]=$("$py" -c "import json, sys; print(json.loads(sys.argv[1])['samples_per_s'])" "$out")
  else
    echo "   $device failed (see the output above)"
  fi
}

echo "== default lane (Python 3.11)"
[[ -x "$WORK/default/bin/python" ]] || "$PY311" -m venv "$WORK/default"
pipx "$WORK/default" "$ROOT"
bench "$WORK/default/bin/python" cpp_standalone

if [[ -n "${GENN_PATH:-}" && -f "$GENN_PATH/version.txt" ]]; then
  echo "== genn lane (Python 3.11, GeNN $(cat "$GENN_PATH/version.txt") at $GENN_PATH)"
  [[ -x "$WORK/genn/bin/python" ]] || "$PY311" -m venv "$WORK/genn"
  mapfile -t GENN_REQS < <(extra genn)
  pipx "$WORK/genn" "${GENN_REQS[@]}" "pyparsing<3.3" $EXTRA_DEPS
  pipx "$WORK/genn" --no-deps "$ROOT"
  bench "$WORK/genn/bin/python" genn BIOOPZO_GENN_GPU=1 GENN_PATH="$GENN_PATH" \
        CUDA_PATH="${CUDA_PATH:-/usr/local/cuda}" PATH="$GENN_PATH/bin:$PATH"
else
  echo "== genn lane skipped: GENN_PATH does not point to a GeNN 4.x tree (docs/lanes/genn.md)"
fi

if command -v "$PY312" >/dev/null; then
  echo "== cuda lane (Python 3.12)"
  [[ -x "$WORK/cuda/bin/python" ]] || "$PY312" -m venv "$WORK/cuda"
  pipx "$WORK/cuda" "$ROOT[cuda]"
  bench "$WORK/cuda/bin/python" cuda_standalone
else
  echo "== cuda lane skipped: no $PY312 (docs/lanes/cuda.md)"
fi

echo
echo "== samples per second (nmnist workload, N = $N) and ratio to cpp_standalone"
base=${RESULT[cpp_standalone]:-}
for device in cpp_standalone genn cuda_standalone; do
  value=${RESULT[$device]:-}
  if [[ -z "$value" ]]; then printf "%-16s %12s\n" "$device" "n/a"; continue; fi
  if [[ -n "$base" ]]; then
    printf "%-16s %12.1f  x%.2f\n" "$device" "$value" "$("$PY311" -c "import sys; print(float(sys.argv[1]) / float(sys.argv[2]))" "$value" "$base")"
  else
    printf "%-16s %12.1f\n" "$device" "$value"
  fi
done
