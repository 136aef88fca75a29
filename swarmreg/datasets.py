"""Built-in data sets, a seeded train/test split and standardization fitted on the training part.

``load(name, seed=0, test_size=0.3)`` with ``name`` one of ``NAMES``, a path ending in ``.csv`` (the
last column the target, the task inferred: see :mod:`swarmreg.csvdata`) or a checked
:class:`swarmreg.csvdata.CSVSource`. ``mnist1d`` keeps its generator's own split and scaling.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from . import _validate as v
from .csvdata import CSVSource, load_source, read_csv

NAMES = ("iris", "wine", "breast_cancer", "digits", "teacher", "teacher_noisy", "quadratic", "mnist1d")
_MNIST1D_TEST = 0.2  # the generator's own split: its first 80% of items train, the rest test


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # "classification" (int labels 0..K-1) or "regression" (float targets)
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_outputs: int  # classes for classification, target columns for regression
    X_val: np.ndarray | None = None  # validation part, when load(..., val_size > 0)
    y_val: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def output(self) -> str:
        """The network output layer this task needs."""
        return "softmax" if self.task == "classification" else "identity"

    def sizes(self, hidden: tuple[int, ...] | list[int]) -> tuple[int, ...]:
        """Layer sizes for a network with these hidden layers, e.g. ``sizes([8])``."""
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)):
            raise TypeError(f"hidden must be a list of hidden layer sizes such as [8], got {hidden!r}")
        return (self.n_features, *hidden, self.n_outputs)


def teacher(seed: int, n_items: int = 500, n_features: int = 10, n_classes: int = 3,
            hidden: int = 8, label_noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels from a random tanh "teacher" network on Gaussian inputs; ``label_noise`` of them redrawn."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_items, n_features))
    W1 = rng.standard_normal((n_features, hidden)) / np.sqrt(n_features)
    W2 = rng.standard_normal((hidden, n_classes)) * 2.0
    y = np.argmax(np.tanh(X @ W1) @ W2, axis=1)
    noisy = rng.random(n_items) < label_noise
    y[noisy] = rng.integers(0, n_classes, noisy.sum())
    return X, y


def quadratic(seed: int, n_items: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The function-approximation task ``y = 2x^2 + 1`` on x ~ U[-1, 1]."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, (n_items, 1))
    return x, 2.0 * x[:, 0] ** 2 + 1.0


_GENERATING = threading.Lock()


@cache
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D from the ``mnist1d`` package's ``make_dataset()`` with its default arguments (seed 42),
    generated offline once per process: ``(X_train, y_train, X_test, y_test)``, 4,000 / 1,000 items.

    The generator seeds and draws from numpy's and Python's global random state; both are put back as
    they were, and a lock keeps two threads from generating (and drawing) at once.
    """
    from mnist1d.data import make_dataset

    with _GENERATING:
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            data = make_dataset()
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
    arrays = (data["x"], data["y"], data["x_test"], data["y_test"])
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _mnist1d(seed: int, val_size: float) -> Dataset:
    """MNIST-1D as generated (already standardized over the whole set by its generator, so not rescaled);
    ``val_size`` (a fraction of all items) is split off the training part, stratified, from ``seed``."""
    X_tr, y_tr, X_te, y_te = (a.copy() for a in _mnist1d_arrays())
    X_va = y_va = None
    if val_size:
        X_tr, X_va, y_tr, y_va = _split(X_tr, y_tr, val_size / (1 - _MNIST1D_TEST), seed, True)
    return Dataset(name="mnist1d", task="classification", X_train=X_tr, y_train=y_tr, X_test=X_te,
                   y_test=y_te, n_outputs=10, X_val=X_va, y_val=y_va)


def _raw(name: str | CSVSource, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    if isinstance(name, CSVSource):
        return (*load_source(name), name.task)
    if name.endswith(".csv"):
        table = read_csv(name)
        return table.X, table.y, table.source.task
    if name == "teacher":
        return (*teacher(seed), "classification")
    if name == "teacher_noisy":  # the same teacher, 20% of the labels redrawn at random
        return (*teacher(seed, label_noise=0.2), "classification")
    if name == "quadratic":
        return (*quadratic(seed), "regression")
    loader = {"iris": skd.load_iris, "wine": skd.load_wine,
              "breast_cancer": skd.load_breast_cancer, "digits": skd.load_digits}[name]
    X, y = loader(return_X_y=True)
    return X, y, "classification"


def _split(X: np.ndarray, y: np.ndarray, size: float, seed: int, stratify: bool):
    """``(X_keep, X_out, y_keep, y_out)`` with a fraction ``size`` held out (none when 0)."""
    if size == 0:
        return X, X[:0], y, y[:0]
    return train_test_split(X, y, test_size=size, random_state=seed, stratify=y if stratify else None)


def _three_way(X: np.ndarray, y: np.ndarray, test_size: float, val_size: float, seed: int, stratify: bool):
    """``((X_train, y_train), (X_val, y_val), (X_test, y_test))``: the test part, then validation from the rest."""
    X_rest, X_te, y_rest, y_te = _split(X, y, test_size, seed, stratify)
    X_tr, X_va, y_tr, y_va = _split(X_rest, y_rest, val_size / (1 - test_size), seed, stratify)
    return (X_tr, y_tr), (X_va, y_va), (X_te, y_te)


def check_split(y: np.ndarray, task: str, test_size: float, val_size: float,
                classes: tuple[str, ...] | None = None) -> None:
    """Raise ``ValueError`` if :func:`load` could not split these targets (a stratified split needs at
    least two items of each class, and as many items in each part as there are classes); ``classes``
    names the class indices in the message."""
    if task == "classification" and test_size + val_size > 0:
        counts = np.bincount(y)
        if counts.min() < 2:
            k = int(np.argmin(counts))
            raise ValueError(f"class {classes[k] if classes else k!r} has {counts[k]} item; a stratified "
                             "train/test split needs at least 2 of each class")
    try:
        _three_way(np.zeros((len(y), 1)), y, test_size, val_size, 0, task == "classification")
    except ValueError as exc:
        raise ValueError(f"cannot split {len(y)} items into train/test (test_size={test_size:g}, "
                         f"val_size={val_size:g}): {exc}") from None


def load(name: str | CSVSource, seed: int = 0, test_size: float = 0.3, val_size: float = 0.0) -> Dataset:
    """Load ``name``, split it from ``seed`` (stratified for classification), standardize X.

    ``test_size`` and ``val_size`` are fractions of all items held out for testing and validation
    (``test_size=0`` keeps every item for training). The scaler is fitted on the training part
    only; a constant column is centred, not divided. ``mnist1d`` is the exception: its generator's own
    4,000 / 1,000 split and scaling, whatever ``test_size``, as the MNIST-1D paper's baselines use it.
    """
    if not isinstance(name, (str, CSVSource)):
        raise TypeError(f"name must be a str, got {name!r}")
    if isinstance(name, str) and name not in NAMES and not name.endswith(".csv"):
        raise ValueError(f"unknown dataset {name!r}{v.suggest(name, NAMES)}; known: {', '.join(NAMES)} "
                         "or a path ending in .csv")
    seed = v.non_negative_int(seed, "seed")
    if seed > 2**32 - 1:
        raise ValueError(f"seed must be at most 2**32 - 1 (scikit-learn's random_state), got {seed}")
    test_size = v.real(test_size, "test_size", 0.0, 1.0, high_open=True)
    val_size = v.real(val_size, "val_size", 0.0, 1.0, high_open=True)
    if name == "mnist1d":
        if val_size >= 1 - _MNIST1D_TEST:
            raise ValueError(f"val_size must be below {1 - _MNIST1D_TEST:g} for mnist1d (its own split tests "
                             f"{_MNIST1D_TEST:.0%} of the items), got {val_size}")
        return _mnist1d(seed, val_size)
    if test_size + val_size >= 1:
        raise ValueError(f"test_size + val_size must be below 1, got {test_size} + {val_size}")
    X, y, task = _raw(name, seed)
    stratify = task == "classification"
    if stratify:
        _, y = np.unique(y, return_inverse=True)
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = _three_way(X, y, test_size, val_size, seed, stratify)
    scaler = StandardScaler().fit(X_tr)

    def scale(A: np.ndarray) -> np.ndarray:
        return scaler.transform(A) if len(A) else A.astype(float)

    n_outputs = int(y.max()) + 1 if stratify else 1
    stem = Path(name.path if isinstance(name, CSVSource) else name).stem
    return Dataset(name=name if name in NAMES else stem, task=task,
                   X_train=scale(X_tr), y_train=y_tr, X_test=scale(X_te), y_test=y_te, n_outputs=n_outputs,
                   X_val=scale(X_va) if val_size else None, y_val=y_va if val_size else None)
