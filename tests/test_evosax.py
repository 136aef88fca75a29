"""The evosax:<Name> family: conformance on the numpy path and on the device, and the same bits on both."""

from __future__ import annotations

import numpy as np
import pytest

from swarmreg import minimize
from swarmreg.registry import get_method
from swarmreg.testing import check_method, problem

pytest.importorskip("evosax")


@pytest.mark.parametrize("name", ["evosax:Open_ES", "evosax:PSO"])
@pytest.mark.parametrize("device", [None, "cpu"])
def test_check_method_passes(name, device):
    check_method(name, device=device, budget=200, population_size=16)


def test_the_device_run_equals_the_host_run():
    """Same key, same population: the device path differs only in where J is evaluated."""
    a = minimize(problem(), "evosax:SNES", budget=160, seed=4, population_size=16)
    b = minimize(problem(device="cpu"), "evosax:SNES", budget=160, seed=4, population_size=16)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12)
    assert a.cost == b.cost == 160 and "10 generations of 16" in a.message


def test_an_unknown_algorithm_is_refused_with_a_near_miss():
    with pytest.raises(ValueError, match="did you mean 'Open_ES'"):
        get_method("evosax:Open_EZ")
