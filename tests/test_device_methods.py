"""Every method runs on a device objective and passes the conformance suite there."""

from __future__ import annotations

import pytest

from swarmreg import METHODS
from swarmreg.testing import check_method

pytest.importorskip("jax")


@pytest.mark.parametrize("name", list(METHODS))
def test_check_method_passes_on_the_cpu_device(name):
    check_method(name, device="cpu", budget=300)
