"""pyswarms, without its logging side effects.

Every pyswarms ``Reporter`` (built when pyswarms is imported and by every topology) configures the
root logger: an INFO handler on stderr and a ``report.log`` file in the working directory, wherever
the user runs. Its documented switch, the ``LOG_CFG`` environment variable naming a logging
config, is pointed at a config that changes nothing while pyswarms objects are created.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

NOOP_LOGGING_CONFIG = str(resources.files(__package__).joinpath("pyswarms_logging.yaml"))
_LOCK = threading.Lock()


@contextmanager
def quiet_reporter() -> Iterator[None]:
    """Point pyswarms' ``LOG_CFG`` at the no-op config for the duration, then restore it."""
    with _LOCK:
        saved = os.environ.get("LOG_CFG")
        os.environ["LOG_CFG"] = NOOP_LOGGING_CONFIG
        try:
            yield
        finally:
            if saved is None:
                del os.environ["LOG_CFG"]
            else:
                os.environ["LOG_CFG"] = saved


with quiet_reporter():
    from pyswarms.backend.swarms import Swarm
    from pyswarms.backend.topology import Ring, Star


def topology(kind: str) -> Star | Ring:
    """pyswarms' ``Star`` for ``"global"``, its dynamic ``Ring`` otherwise, built quietly."""
    with quiet_reporter():
        return Star() if kind == "global" else Ring(static=False)


__all__ = ["Swarm", "topology"]
