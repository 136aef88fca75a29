"""Conversions between the L2 conventions in use and swarmreg's ``lam``.

swarmreg's objective is ``J = E + lam * sum(w**2)`` over non-bias weights, E a mean over items,
so its gradient step adds ``2*lam*w``. The others; N = training items, n = items in a batch,
eta = lr = learning rate, T = epochs:

====================================  ===========================================  ====================
convention                            as written                                   swarmreg lam
====================================  ===========================================  ====================
scikit-learn MLP ``alpha``            ``0.5*alpha*sum(w**2)/n`` (n = batch size)   ``alpha/(2n)``
seed text's lambda                    shrink by ``1 - eta*lambda/n`` per step      ``lambda/(2n)``
Nielsen's lambda                      ``lambda/(2N)*sum(w**2)``                    ``lambda/(2N)``
PyTorch SGD ``weight_decay``          ``grad += wd*w``                             ``wd/2``
PyTorch Adam ``weight_decay``         ``grad += wd*w``, then Adam's moments        ``wd/2`` (a)
PyTorch AdamW, optax adamw            ``w -= lr*wd*w`` beside Adam's step          none (b)
Loshchilov & Hutter normalised decay  fraction ``wd_norm*sqrt(n/(N*T))`` per step     none (b)
Keras ``l2``                          ``l2*sum(w**2)``                             ``l2``
OpenAI-ES ``l2coeff``                 ``update(-g + l2coeff*theta)``, biases too   ``l2coeff/2`` (c)
evosax ``add_weight_decay``           fitness ``+ wd*sum(theta**2)``, biases too   ``wd`` (c)
decoupled fraction ``d`` per step     ``w -= d*w`` beside the step                 ``d/(2*eta)`` (d)
====================================  ===========================================  ====================

(a) J's gradient, so J's stationary points, but Adam divides it by ``sqrt(v)`` with the rest of the
gradient: the path is Adam's, not gradient descent's on J. (b) Under Adam no lam gives this trajectory
or its fixed points (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Prop. 2);
under plain SGD the same fraction is ``lam = wd/2``. (c) On the weights; these also decay the biases,
which J never penalizes. (d) Plain SGD only. PyTorch decays biases too unless grouped out.

Coupled L2 (``2*lam*w`` added to the gradient) against decoupled decay (the weights shrunk by a
fraction ``d`` of themselves, beside the step); ``g`` = gradient of E on the batch:

============  ===============================================  ==============================================
optimizer     one step, coupled | decoupled                    the same trajectory?
============  ===============================================  ==============================================
SGD           ``w -= lr*(g + 2*lam*w)`` | ``w -= lr*g + d*w``  yes, with ``d = 2*lr*lam`` (Prop. 1)
SGD+momentum  ``v = mu*v + g + 2*lam*w`` | ``v = mu*v + g``;   no: the velocity sums coupled L2 over past
              then ``w -= lr*v`` | ``w -= lr*v + d*w``         steps, up to ``1/(1 - mu)`` times ``d``
Adam          ``g + 2*lam*w`` into the moments (PyTorch Adam)  the coupled form; seeks J's minimizer
AdamW         ``w *= 1 - d``, then Adam's step on ``g`` alone  no: not Adam's trajectory on any lam (Prop. 2)
============  ===============================================  ==============================================

So "decoupled = coupled" holds for plain SGD alone: with momentum the pair separates, and under Adam the
two are different regularizers (AdamW shrinks every weight by the same fraction; Adam with L2 shrinks
weights with small gradient history more).
"""

from __future__ import annotations

import math

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


def from_torch_adam_weight_decay(weight_decay: float) -> float:
    """``wd/2``: PyTorch's ``Adam(weight_decay=wd)`` adds ``wd*w`` to the gradient before the moments.

    The gradient is J's with ``lam = wd/2``, so Adam seeks J's minimizer, but each coordinate's step
    is divided by ``sqrt(v)``: the trajectory is Adam's, which swarmreg's ``adam`` (``decay="coupled"``)
    follows. PyTorch decays the biases too unless they are in a group with ``weight_decay=0``.
    """
    return _lam(weight_decay, "weight_decay") / 2


def to_torch_adam_weight_decay(lam: float) -> float:
    return 2 * _lam(lam, "lam")


def adamw_decay_rate(weight_decay: float, lr: float) -> float:
    """``d = lr*weight_decay``: the fraction of each weight PyTorch's ``AdamW(lr, weight_decay=wd)`` takes
    away per step (``param.mul_(1 - lr*wd)`` before Adam's step), and optax's ``adamw(lr, weight_decay=wd)``
    (``add_decayed_weights(wd)`` then scaled by ``-lr``: ``w - lr*u - lr*wd*w``, the same step).

    It is swarmreg's ``decay_rate`` of ``adam(decay="decoupled")``, whose default ``2*lr*lam`` is
    ``AdamW(lr, weight_decay=2*lam)``. No lam is equivalent under Adam: see
    :func:`from_decoupled_weight_decay`.
    """
    return v.real(lr, "lr", 0.0, low_open=True) * _lam(weight_decay, "weight_decay")


def adamw_weight_decay(decay_rate: float, lr: float) -> float:
    """``wd = d/lr``: the ``weight_decay`` of ``AdamW(lr, ...)`` that takes the fraction ``d`` per step."""
    return _lam(decay_rate, "decay_rate") / v.real(lr, "lr", 0.0, low_open=True)


DECOUPLED_OPTIMIZERS = ("sgd", "momentum", "adam")


def from_decoupled_weight_decay(weight_decay: float, optimizer: str) -> float:
    """The lam whose coupled L2 gives the trajectory of decoupled decay ``w -= lr*wd*w`` beside the step.

    ``optimizer="sgd"`` (plain SGD, no momentum): ``wd/2``, since ``w - lr*g - lr*wd*w`` is
    ``w - lr*(g + wd*w)`` (Loshchilov & Hutter, ICLR 2019, Prop. 1). ``"momentum"`` and ``"adam"``: there
    is none, and a ``ValueError`` says why: the velocity sums coupled L2 over past steps, and Adam
    divides it by ``sqrt(v)`` per weight, while the decoupled shrink is neither summed nor divided
    (their Prop. 2: with a preconditioner other than a multiple of the identity, no L2 coefficient
    makes the two the same). PyTorch's AdamW is ``"adam"``: no lam gives its trajectory.
    """
    wd = _lam(weight_decay, "weight_decay")
    optimizer = v.choice(optimizer, "optimizer", DECOUPLED_OPTIMIZERS)
    if optimizer == "sgd":
        return wd / 2
    how = ("heavy-ball momentum sums the L2 gradient into the velocity" if optimizer == "momentum"
           else "Adam divides the L2 gradient by sqrt(v) per weight, as PyTorch's AdamW shows")
    raise ValueError(f"no lam is equivalent to decoupled weight decay under {optimizer!r}: {how}, and the "
                     "decoupled shrink bypasses it (Loshchilov & Hutter, ICLR 2019); run the decoupled method "
                     "(decay='decoupled', decay_rate=lr*weight_decay) instead")


def normalized_decay_rate(wd_norm: float, batch_size: int, n_train: int, epochs: int) -> float:
    """``wd_norm * sqrt(b / (N*T))``: Loshchilov & Hutter's normalised weight decay (ICLR 2019, App. B.1),
    b = batch size, N = training items, T = epochs; the per-step fraction their AdamW and SGDW subtract
    (``w -= eta_t*lambda*w``, schedule multiplier ``eta_t = 1``), so swarmreg's ``decay_rate`` directly
    (PyTorch's AdamW ``weight_decay`` is it divided by ``lr``). A full batch for T epochs gives
    ``wd_norm / sqrt(T)``. No lam is equivalent under Adam (see :func:`from_decoupled_weight_decay`).
    """
    b = v.positive_int(batch_size, "batch_size")
    n = v.positive_int(n_train, "n_train")
    if b > n:
        raise ValueError(f"batch_size must be at most n_train ({n}), got {b}")
    return _lam(wd_norm, "wd_norm") * math.sqrt(b / (n * v.positive_int(epochs, "epochs")))


def from_openai_es_l2coeff(l2coeff: float) -> float:
    """``l2coeff/2``: OpenAI-ES (``es_distributed/es.py``) steps on ``-g + l2coeff*theta``, the gradient of
    ``l2coeff/2 * sum(theta**2)`` added to its estimate ``g``, on every parameter.

    swarmreg's lam penalizes the weights only: the term is the same on the weights, and OpenAI's also
    pulls the biases to zero. Its ``g`` is a gradient of centred ranks, not of E, so the same term
    weighs differently against the data than in J (swarmreg's ``openai-es`` with ``l2="gradient"``).
    """
    return _lam(l2coeff, "l2coeff") / 2


def to_openai_es_l2coeff(lam: float) -> float:
    return 2 * _lam(lam, "lam")


def from_evosax_weight_decay(weight_decay: float) -> float:
    """``wd``: evosax's ``add_weight_decay(shaping_fn, weight_decay=wd)`` adds ``wd * sum(theta**2)`` to
    each raw fitness (minimized), over every parameter.

    The same penalty as J's on the weights, but evosax's also penalizes the biases (J does not), so
    its fitness is ``J + wd * sum(b**2)``: equal to J only where the biases are zero. (evosax's older
    ``FitnessShaper(w_decay=...)`` added ``w_decay * mean(theta**2)``: ``lam = w_decay / n_params``.)
    """
    return _lam(weight_decay, "weight_decay")


def to_evosax_weight_decay(lam: float) -> float:
    return _lam(lam, "lam")
