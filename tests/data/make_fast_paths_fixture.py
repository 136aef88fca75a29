"""Record the float64 results that tests/test_fast_paths.py requires to stay bit-identical.

Run before the speed work of issue 5 (commit 31fb8ca, on the code of 7c54cb7), from the repository
root, and re-run at 62b0bb5 (exact budget accounting: only the trace costs of the two mini-batch
cases changed, in the last bits); the speed work itself must not re-record it:

    python tests/data/make_fast_paths_fixture.py

It writes ``tests/data/fast_paths_reference.npz``: for each case, ``res.x`` and every ``res.trace``
array of ``swarmreg.minimize``, plus raw ``obj(W)`` / ``obj.error_and_gradient(w)`` values, and the
numpy / scipy / BLAS versions they were computed with (bits can legitimately differ under another
BLAS kernel or another scipy, so the test compares only in a matching environment).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fast_paths_cases import environment, objective_cases, run_cases  # noqa: E402

OUT = Path(__file__).with_name("fast_paths_reference.npz")


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, res in run_cases():
        arrays[f"{name}/x"] = res.x
        arrays[f"{name}/fun"] = np.array(res.fun)
        for key, values in res.trace.items():
            arrays[f"{name}/trace/{key}"] = values
    for name, values in objective_cases():
        arrays[name] = values
    for key, value in environment().items():
        arrays[f"env/{key}"] = np.array(value)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(arrays)} arrays to {OUT}")


if __name__ == "__main__":
    main()
