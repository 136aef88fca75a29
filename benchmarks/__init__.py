"""Speed and memory measurements of swarmreg against the libraries it wraps and the machine's floor.

Run ``python -m benchmarks.run`` (or ``python benchmarks/run.py``) from the repository root.
"""
