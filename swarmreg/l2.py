"""Conversions between the L2 conventions in use and swarmreg's ``lam``.

swarmreg's objective is ``J = E + lam * sum(w**2)`` over non-bias weights, E a mean over items,
so its gradient step adds ``2*lam*w``. The others, N = training items, n = items in a batch:

=====================================  ===========================================  ==============
convention                             as written                                   swarmreg lam
=====================================  ===========================================  ==============
scikit-learn MLP ``alpha``             ``0.5*alpha*sum(w**2)/n`` (n = batch size)   ``alpha/(2n)``
seed text's lambda                     shrink by ``1 - eta*lambda/n`` per step      ``lambda/(2n)``
Nielsen's lambda                       ``lambda/(2N)*sum(w**2)``                    ``lambda/(2N)``
PyTorch SGD ``weight_decay``           ``grad += wd*w``                             ``wd/2``
Keras ``l2``                           ``l2*sum(w**2)``                             ``l2``
decoupled fraction ``d`` per step      ``w -= d*w`` after the step                  ``d/(2*eta)``
=====================================  ===========================================  ==============

The last row holds for plain SGD only; with momentum, decoupled decay is not an L2 penalty at
all (Loshchilov & Hutter, ICLR 2019, Prop. 1). PyTorch decays biases too unless grouped out.
"""

from __future__ import annotations

from . import _validate as v


def _lam(value: float, name: str) -> float:
    return v.real(value, name, 0.0)


def from_sklearn_alpha(alpha: float, n: int) -> float:
    """``alpha/(2n)``: scikit-learn divides its ``0.5*alpha*||w||^2`` by the batch size ``n``."""
    return _lam(alpha, "alpha") / (2 * v.positive_int(n, "n"))


def to_sklearn_alpha(lam: float, n: int) -> float:
    return 2 * v.positive_int(n, "n") * _lam(lam, "lam")


def from_seed_lambda(lam_seed: float, n: int) -> float:
    """``lambda/(2n)``: the seed text shrinks by ``1 - eta*lambda/n``, n the batch's items (1 online)."""
    return _lam(lam_seed, "lam_seed") / (2 * v.positive_int(n, "n"))


def to_seed_lambda(lam: float, n: int) -> float:
    return 2 * v.positive_int(n, "n") * _lam(lam, "lam")


def from_nielsen(lam_nielsen: float, n_train: int) -> float:
    """``lambda/(2N)``: Nielsen's penalty ``lambda/(2N)*sum(w^2)``, N the training set size."""
    return _lam(lam_nielsen, "lam_nielsen") / (2 * v.positive_int(n_train, "n_train"))


def to_nielsen(lam: float, n_train: int) -> float:
    return 2 * v.positive_int(n_train, "n_train") * _lam(lam, "lam")


def from_torch_weight_decay(weight_decay: float) -> float:
    """``wd/2``: PyTorch's SGD adds ``wd*w`` to the gradient, the derivative of ``wd/2*||w||^2``."""
    return _lam(weight_decay, "weight_decay") / 2


def to_torch_weight_decay(lam: float) -> float:
    return 2 * _lam(lam, "lam")


def from_keras_l2(l2: float) -> float:
    """Keras' ``l2*sum(w^2)`` is already swarmreg's convention."""
    return _lam(l2, "l2")


def to_keras_l2(lam: float) -> float:
    return _lam(lam, "lam")


def from_decoupled(decay_rate: float, lr: float) -> float:
    """``d/(2*lr)``: subtracting ``d*w`` each plain-SGD step equals coupled L2 with this lam."""
    return _lam(decay_rate, "decay_rate") / (2 * v.real(lr, "lr", 0.0, low_open=True))


def to_decoupled(lam: float, lr: float) -> float:
    return 2 * v.real(lr, "lr", 0.0, low_open=True) * _lam(lam, "lam")
