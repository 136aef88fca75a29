"""Speed and memory measurements of swarmreg against pyswarms, scipy and scikit-learn (issue 5).

Run ``python -m benchmarks.run`` (or ``python benchmarks/run.py``) from the repository root.
"""
