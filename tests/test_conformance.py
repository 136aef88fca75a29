"""``swarmreg.testing.check_method`` on every registered method: the conformance suite a plugin author
runs is the one swarmreg's own methods pass."""

from __future__ import annotations

import pytest

import swarmreg as sr


@pytest.mark.parametrize("name", list(sr.METHODS))
def test_every_registered_method_passes_check_method(name):
    sr.testing.check_method(name)
