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
PyTorch AdamW, optax adamw            ``w -= lr_t*wd*w`` beside Adam's step        none (b)
Loshchilov & Hutter AdamW/SGDW        ``w -= eta_t*lambda*w``, ``eta_t`` schedule  none (b) (e)
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
(e) L&H's form at ``(alpha, lambda)`` is PyTorch's at ``(lr=alpha, weight_decay=lambda/alpha)`` under the
same schedule (``lr_t = alpha*eta_t``, so ``lr_t*wd = eta_t*lambda``): ``lambda`` is swarmreg's
``decay_rate`` (:func:`adamw_decay_rate`, :func:`adamw_weight_decay`). The two differ in what a grid holds
fixed: PyTorch's shrink grows with ``alpha`` at fixed ``wd``, L&H's does not at fixed ``lambda``. The
methods' ``decay_scale`` picks the default: ``"lr"`` shrinks by ``lr_t*2*lam``, ``"schedule"`` by
``eta_t*2*lam`` (:func:`to_schedule_scale` converts lam between them).

Coupled L2 (``2*lam*w`` added to the gradient) against decoupled decay (the weights shrunk by a
fraction ``d`` of themselves, beside the step); ``g`` = gradient of E on the batch:

============  ===============================================  ==============================================
optimizer     one step, coupled | decoupled                    the same trajectory?
============  ===============================================  ==============================================
SGD           ``w -= lr*(g + 2*lam*w)`` | ``w -= lr*g + d*w``  yes, with ``d = 2*lr*lam`` (Prop. 1)
SGD+momentum  ``v = mu*v + g + 2*lam*w`` | ``v = mu*v + g``;   not at the same momentum; see below
              then ``w -= lr*v`` | ``w -= lr*v + d*w``
Adam          ``g + 2*lam*w`` into the moments (PyTorch Adam)  the coupled form; seeks J's minimizer
AdamW         ``w *= 1 - d``, then Adam's step on ``g`` alone  no: not Adam's trajectory on any lam (Prop. 2)
============  ===============================================  ==============================================

So "decoupled = coupled" holds for plain SGD alone: with momentum the pair separates, and under Adam the
two are different regularizers (AdamW shrinks every weight by the same fraction; Adam with L2 shrinks
weights with small gradient history more).

SGD with momentum, decoupled, as a reparametrization of coupled. PyTorch's heavy ball under a schedule
(``lr_t = lr*eta_t``, shrink ``d_t = eta_t*d``, ``r_t = lr_t/lr_{t-1}``)::

    decoupled:  u_t = mu*u_{t-1} + g_t;              w_t = w_{t-1} - lr_t*u_t - d_t*w_{t-1}
    coupled:    v_t = mu_t*v_{t-1} + g_t + c*w_{t-1};  w_t = w_{t-1} - lr_t*v_t

Eliminating ``u`` with ``lr_{t-1}*u_{t-1} = w_{t-2} - w_{t-1} - d_{t-1}*w_{t-2}`` gives::

    w_t = w_{t-1} + mu*r_t*(1 - d_{t-1})*(w_{t-1} - w_{t-2}) - lr_t*g_t - (d_t - mu*r_t*d_{t-1})*w_{t-1}

and ``d_t - mu*r_t*d_{t-1} = eta_t*d*(1 - mu) = lr_t*c`` with ``c = d*(1 - mu)/lr``. Eliminating ``v``
gives the same recurrence with ``mu_t`` for ``mu*(1 - d_{t-1})``. So, exactly and under any schedule:
decoupled at ``d`` is coupled at ``c = d*(1 - mu)/lr`` (``lam = c/2``; PyTorch ``weight_decay``
``wd*(1 - mu)`` when ``d = lr*wd``) with momentum ``mu*(1 - d_{t-1})`` on the weights (``mu`` on the
biases, ``mu_1 = mu``), started from the velocity ``c*w_0/(1 - mu)`` instead of 0. Coupled at that
``c`` with the same ``mu`` from rest (:func:`momentum_coupled_lam`) is an approximation whose errors are
the momentum ``mu*d_t`` too high (relative ``O(d)`` per step) and the missing start velocity, a one-off
shift of about ``d*mu/(1 - mu)`` of ``w_0``. With ``mu = 0.9`` decoupled at ``wd`` is coupled at about
``wd/10``; in L&H's form (``d = lambda`` at every ``lr``) coupled's ``c = lambda*(1 - mu)/lr``, so the
best ``lambda`` against ``lr`` has the slope of the best ``c`` plus one, by construction.
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
    """``wd = d/lr``: the ``weight_decay`` of ``AdamW(lr, ...)`` that takes the fraction ``d`` per step;
    with ``d`` Loshchilov & Hutter's ``lambda`` at base rate ``alpha = lr``, the same run under any schedule."""
    return _lam(decay_rate, "decay_rate") / v.real(lr, "lr", 0.0, low_open=True)


def to_schedule_scale(lam: float, lr: float) -> float:
    """``lr*lam``: the lam with which ``decay_scale="schedule"`` (shrink ``eta_t*2*lam``) takes the steps
    ``decay_scale="lr"`` (shrink ``lr*eta_t*2*lam``) takes at ``lam`` and base rate ``lr``."""
    return v.real(lr, "lr", 0.0, low_open=True) * _lam(lam, "lam")


def from_schedule_scale(lam: float, lr: float) -> float:
    return _lam(lam, "lam") / v.real(lr, "lr", 0.0, low_open=True)


def momentum_coupled_lam(decay_rate: float, lr: float, momentum: float) -> float:
    """``d*(1 - mu)/(2*lr)``: the coupled lam that SGD with momentum ``mu`` and decoupled shrink ``d`` per
    step approximates (exactly, with momentum ``mu*(1 - d)`` and a start velocity: see the module's text)."""
    mu = v.real(momentum, "momentum", 0.0, 1.0, high_open=True)
    return _lam(decay_rate, "decay_rate") * (1.0 - mu) / (2 * v.real(lr, "lr", 0.0, low_open=True))


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
    how = ("heavy-ball momentum sums the L2 gradient into the velocity (momentum_coupled_lam gives the "
           "approximation wd*(1 - momentum)/2)" if optimizer == "momentum"
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
