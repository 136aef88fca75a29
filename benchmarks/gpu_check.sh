#!/usr/bin/env bash
# swarmreg's device figures on a machine with an NVIDIA GPU and no network, in one command:
#
#   benchmarks/gpu_check.sh                 # DEVICE=cuda; LARGE=1 adds the 784-input problems
#   DEVICE=cpu benchmarks/gpu_check.sh      # the same on JAX's CPU device (how it was tested)
#
# Packages missing there come from wheels carried along (WHEELS, default benchmarks/wheels), made on a
# machine with network and the same Python:  pip download 'jax[cuda12]' optax evosax -d benchmarks/wheels
# (add swarmreg's own dependencies with: pip download . -d benchmarks/wheels). Prints the device found,
# the agreement of every precision with swarmreg's numpy float64, then the benchmark's device target.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE="${DEVICE:-cuda}"
WHEELS="${WHEELS:-benchmarks/wheels}"
PYTHON="${PYTHON:-python}"

if ! "$PYTHON" -c "import swarmreg, jax, optax, evosax" 2>/dev/null; then
    if [ ! -d "$WHEELS" ]; then
        echo "gpu_check: swarmreg, jax, optax or evosax is missing and there is no wheel folder $WHEELS" >&2
        exit 2
    fi
    "$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" ".[jax]"
    [ "$DEVICE" = cpu ] || "$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" "jax[cuda12]"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" - "$DEVICE" <<'PY'
import sys

import numpy as np

import swarmreg as sr
from benchmarks.device_prototypes import data

device = sys.argv[1]
sizes, n_items, P = (64, 32, 10), 1257, 100
rng = np.random.default_rng(0)
X, y = data(sizes, n_items, rng)
net = sr.Network(sizes)
W = net.init(rng, P)
ref = sr.Objective(net, X, y, lam=0.001)
print(f"agreement with numpy float64, digits 64-32-10 x {P}, on {sr.Objective(net, X, y, device=device)!r}:")
for dtype in ("float64", "float32", "tf32", "bfloat16"):
    obj = sr.Objective(net, X, y, lam=0.001, device=device, dtype=dtype)
    j = float(np.max(np.abs(obj(W) - ref(W)) / np.abs(ref(W))))
    g_ref = ref.gradient(W[0])
    g = float(np.max(np.abs(obj.gradient(W[0]) - g_ref)) / np.max(np.abs(g_ref)))
    print(f"  {dtype:8s} J {j:.1e}   gradient {g:.1e}")
PY
"$PYTHON" -m benchmarks.run --device "$DEVICE" --quick ${LARGE:+--large}
