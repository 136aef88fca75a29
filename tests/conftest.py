"""Test-wide settings: Hypothesis derandomized (the same examples on every run and machine, so a
failure reproduces and a pass means the same thing everywhere)."""

from hypothesis import settings

settings.register_profile("swarmreg", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("swarmreg")
