"""What a method may know about the problem without evaluating it: :class:`Problem`.

A method sees the problem only through its :class:`~swarmreg.budget.Budget`; ``budget.problem`` gives
the shapes and scales (the network, ``lam``, the number of training items, the precision), never the
data or a callable ``J``, so every evaluation goes through a charged call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network
from .objective import penalty, penalty_mask


@dataclass(frozen=True, eq=False)
class Problem:
    """A read-only view of an :class:`~swarmreg.Objective` that cannot evaluate ``J``.

    ``net`` (layer sizes and the flat-vector layout), ``lam``, ``n_items`` (training items, for
    mini-batch fractions), ``dtype`` (the precision the objective evaluates in), ``loss``, and
    ``device``: ``None`` on the numpy path, else the JAX device the objective evaluates on (a
    method with a native device implementation picks it from this); ``penalize_biases``: whether the
    penalty covers the biases too (:attr:`penalty_mask`).
    """

    net: Network
    lam: float
    n_items: int
    dtype: np.dtype
    loss: str
    device: object = None
    penalize_biases: bool = False

    @property
    def n_params(self) -> int:
        return self.net.n_params

    @property
    def init_scale(self) -> np.ndarray:
        """Per-parameter Glorot bound (:attr:`Network.init_scale`): the scale of a first step."""
        return self.net.init_scale

    @property
    def weight_mask(self) -> np.ndarray:
        """True on the weights the L2 term penalizes, False on the biases."""
        return self.net.weight_mask

    @property
    def penalty_mask(self) -> np.ndarray:
        """True on the entries the L2 term penalizes: :attr:`weight_mask`, or every parameter when
        ``penalize_biases``. A method adding the L2 gradient ``2*lam*mask*w`` itself uses this."""
        return penalty_mask(self.net, self.penalize_biases)

    def penalty(self, w: np.ndarray) -> float | np.ndarray:
        """``lam * sum(w[penalty_mask]**2)`` of one vector or per row of a swarm: no data involved."""
        return penalty(self.net, self.lam, w, self.penalize_biases)
