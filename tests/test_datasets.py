"""Built-in data sets and CSV loading: splits, stratification, standardization fitted on train only."""

from __future__ import annotations

import random

import numpy as np
import pytest
from mnist1d.data import make_dataset

import swarmreg as sr
from swarmreg import datasets
from swarmreg.csvdata import read_csv

EXPECTED = {  # name: (task, items, features, outputs)
    "iris": ("classification", 150, 4, 3),
    "wine": ("classification", 178, 13, 3),
    "breast_cancer": ("classification", 569, 30, 2),
    "digits": ("classification", 1797, 64, 10),
}
RESPLIT = [name for name in datasets.NAMES if name != "mnist1d"]  # split from the seed, scaled on train


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", RESPLIT)
def test_every_named_dataset_loads(name):
    d = datasets.load(name, seed=0, test_size=0.3)
    assert d.name == name
    assert d.task in ("classification", "regression")
    for arr in (d.X_train, d.X_test, d.y_train, d.y_test):
        assert isinstance(arr, np.ndarray) and np.all(np.isfinite(arr))
    assert d.X_train.ndim == 2 and d.X_test.ndim == 2
    assert d.X_train.shape[1] == d.X_test.shape[1] == d.n_features
    assert len(d.y_train) == len(d.X_train) and len(d.y_test) == len(d.X_test)
    n = len(d.X_train) + len(d.X_test)
    assert len(d.X_test) == pytest.approx(0.3 * n, abs=1)
    if d.task == "classification":
        assert d.output == "softmax"
        labels = np.concatenate([d.y_train, d.y_test])
        np.testing.assert_array_equal(np.unique(labels), np.arange(d.n_outputs))
    else:
        assert d.output == "identity" and d.n_outputs == 1
    if name in EXPECTED:
        task, items, features, outputs = EXPECTED[name]
        assert (d.task, n, d.n_features, d.n_outputs) == (task, items, features, outputs)
    # it plugs straight into a network and an objective
    net = sr.Network(d.sizes((5,)), output=d.output)
    obj = sr.Objective(net, d.X_train, d.y_train, lam=0.01)
    assert np.isfinite(obj(net.init(np.random.default_rng(0))))


def test_quadratic_is_two_x_squared_plus_one():
    X, y = datasets.quadratic(seed=3, n_items=50)
    assert X.shape == (50, 1) and np.all(np.abs(X) <= 1)
    np.testing.assert_allclose(y, 2 * X[:, 0] ** 2 + 1)


@pytest.mark.parametrize("name", RESPLIT)
def test_train_is_standardized(name):
    d = datasets.load(name, seed=1)
    std = d.X_train.std(axis=0)
    varying = std > 1e-12
    assert varying.any()
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(std[varying], 1.0, rtol=1e-10)
    np.testing.assert_allclose(d.X_train[:, ~varying], 0.0, atol=1e-12)  # constant columns: centred


def test_digits_constant_columns_are_finite():
    d = datasets.load("digits", seed=0)
    assert np.any(d.X_train.std(axis=0) == 0)  # digits has always-blank pixels
    assert np.all(np.isfinite(d.X_train)) and np.all(np.isfinite(d.X_test))


def test_test_part_is_not_refit(tmp_path):
    # column 0 is the row number, so the raw values of train and test together are 0..N-1, evenly spaced;
    # one affine map (train's) keeps them evenly spaced, a second fit on test would not
    n = 40
    rows = [f"{i},{(i * 7) % 5},{i % 2}" for i in range(n)]
    d = datasets.load(_write(tmp_path / "ids.csv", "\n".join(rows) + "\n"), seed=0, test_size=0.25)
    z = np.sort(np.concatenate([d.X_train[:, 0], d.X_test[:, 0]]))
    np.testing.assert_allclose(np.diff(z), np.diff(z)[0], rtol=1e-9)
    # and the map is train's: the implied train mean and std of the row numbers are train's own
    step = np.diff(z)[0]
    raw_train = np.round((d.X_train[:, 0] - z[0]) / step).astype(int)
    raw_test = np.round((d.X_test[:, 0] - z[0]) / step).astype(int)
    assert sorted(np.concatenate([raw_train, raw_test])) == list(range(n))
    expected = (raw_train - raw_train.mean()) / raw_train.std()
    np.testing.assert_allclose(d.X_train[:, 0], expected, atol=1e-10)
    np.testing.assert_allclose(d.X_test[:, 0], (raw_test - raw_train.mean()) / raw_train.std(), atol=1e-10)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "teacher"])
def test_split_is_stratified(name):
    d = datasets.load(name, seed=2, test_size=0.3)
    labels = np.concatenate([d.y_train, d.y_test])
    for k in range(d.n_outputs):
        share = np.mean(labels == k)
        assert abs(np.sum(d.y_test == k) - share * len(d.y_test)) <= 1
        assert abs(np.sum(d.y_train == k) - share * len(d.y_train)) <= 1


@pytest.mark.parametrize("name", ["iris", "quadratic", "teacher"])
def test_same_seed_same_split_different_seed_different(name):
    a, b, c = datasets.load(name, seed=4), datasets.load(name, seed=4), datasets.load(name, seed=5)
    for field in ("X_train", "y_train", "X_test", "y_test"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes()
    assert not np.array_equal(a.X_train, c.X_train)


def test_loading_leaves_the_global_numpy_state_alone():
    np.random.seed(3)
    before = np.random.get_state()
    for name in datasets.NAMES:
        datasets.load(name, seed=1)
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2:] == after[2:]


def test_mnist1d_is_the_packages_default_dataset_with_its_own_split():
    d = datasets.load("mnist1d", seed=3, test_size=0.3)  # seed and test_size do not move its split
    ref = make_dataset()  # the mnist1d package's generator, default arguments (about 2 s)
    assert (d.name, d.task, d.n_features, d.n_outputs, d.output) == ("mnist1d", "classification", 40, 10, "softmax")
    assert d.X_train.shape == (4000, 40) and d.X_test.shape == (1000, 40)
    for mine, theirs in ((d.X_train, ref["x"]), (d.y_train, ref["y"]), (d.X_test, ref["x_test"]),
                         (d.y_test, ref["y_test"])):
        assert mine.tobytes() == theirs.tobytes() and mine.dtype == theirs.dtype
    d.X_train[0, 0] = 99.0  # a caller's edit does not reach the cached copy
    assert datasets.load("mnist1d").X_train[0, 0] == ref["x"][0, 0]


def test_mnist1d_is_generated_once_and_restores_the_global_random_states(monkeypatch):
    calls = []

    def counted():
        calls.append(1)
        return make_dataset()

    monkeypatch.setattr("mnist1d.data.make_dataset", counted)
    datasets._mnist1d_arrays.cache_clear()  # generate again, under a known global state
    np.random.seed(7)
    random.seed(7)
    before_np, before_py = np.random.get_state(), random.getstate()
    datasets.load("mnist1d")
    after_np = np.random.get_state()
    assert np.array_equal(before_np[1], after_np[1]) and before_np[2:] == after_np[2:]
    assert random.getstate() == before_py
    datasets.load("mnist1d", val_size=0.1)
    assert len(calls) == 1


def test_mnist1d_validation_part_comes_out_of_training():
    d = datasets.load("mnist1d", seed=0, val_size=0.1)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (3500, 500, 1000)
    assert np.bincount(d.y_val).min() >= 45  # stratified: about 50 per class
    with pytest.raises(ValueError, match="val_size"):
        datasets.load("mnist1d", val_size=0.8)


def test_test_size_zero_keeps_every_item():
    d = datasets.load("iris", test_size=0)
    assert d.X_train.shape == (150, 4) and len(d.y_train) == 150
    assert d.X_test.shape == (0, 4) and d.y_test.shape == (0,)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.X_train.std(axis=0), 1.0, rtol=1e-12)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_test_size_is_refused(bad):
    with pytest.raises(ValueError):
        datasets.load("iris", test_size=bad)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_seed_is_refused(seed, error):
    with pytest.raises(error):
        datasets.load("iris", seed=seed)


def test_unknown_name_suggests_the_near_miss():
    with pytest.raises(ValueError, match=r"'irsi'.*did you mean 'iris'"):
        datasets.load("irsi")
    with pytest.raises(ValueError) as info:
        datasets.load("mnist")
    for name in datasets.NAMES:
        assert name in str(info.value)
    with pytest.raises(TypeError):
        datasets.load(3)


# --- CSV files ---------------------------------------------------------------------------------------------

CLASSIFICATION_ROWS = "\n".join(f"{i * 0.5},{(i * 3) % 7 - 2.5},{i % 3}" for i in range(30)) + "\n"


def test_csv_with_and_without_header_give_the_same_data(tmp_path):
    plain = datasets.load(_write(tmp_path / "plain.csv", CLASSIFICATION_ROWS), seed=0)
    header = datasets.load(_write(tmp_path / "header.csv", "a,b,label\n" + CLASSIFICATION_ROWS), seed=0)
    assert plain.name == "plain" and header.name == "header"
    assert plain.task == header.task == "classification" and plain.n_outputs == 3
    for field in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(header, field))
    assert len(plain.X_train) + len(plain.X_test) == 30


def test_csv_read_returns_raw_columns(tmp_path):
    table = read_csv(_write(tmp_path / "d.csv", "x1,x2,t\n1,2,0.5\n3,4,1.5\n\n5,6,2.5\n"))
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(table.y, [0.5, 1.5, 2.5])
    assert table.columns == ("x1", "x2", "t") and table.source.task == "regression"


def test_csv_regression_target(tmp_path):
    rows = "\n".join(f"{i},{i * i % 5},{0.37 * i + 0.1}" for i in range(20)) + "\n"
    d = datasets.load(_write(tmp_path / "reg.csv", rows), seed=0)
    assert d.task == "regression" and d.n_outputs == 1 and d.output == "identity"
    assert d.y_train.dtype.kind == "f"


def test_csv_labels_are_mapped_to_0_to_k_minus_1(tmp_path):
    rows = "\n".join(f"{i},{i % 4},{[3, 7, 9][i % 3]}" for i in range(30)) + "\n"
    d = datasets.load(_write(tmp_path / "labels.csv", rows), seed=0)
    assert d.task == "classification" and d.n_outputs == 3
    np.testing.assert_array_equal(np.unique(np.concatenate([d.y_train, d.y_test])), [0, 1, 2])


def test_csv_constant_column_gives_finite_values(tmp_path):
    rows = "\n".join(f"{i},5.0,{i % 2}" for i in range(20)) + "\n"
    d = datasets.load(_write(tmp_path / "const.csv", rows), seed=0)
    for arr in (d.X_train, d.X_test):
        assert np.all(np.isfinite(arr))
        np.testing.assert_allclose(arr[:, 1], 0.0, atol=1e-12)


def test_csv_missing_file(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises((ValueError, OSError), match="nope.csv"):
        datasets.load(missing)


@pytest.mark.parametrize("text", ["", "\n\n", "a,b,c\n"])
def test_csv_without_data_rows(tmp_path, text):
    with pytest.raises(ValueError, match="empty.csv"):
        datasets.load(_write(tmp_path / "empty.csv", text))


def test_csv_ragged_names_the_line(tmp_path):
    text = "a,b,c\n1,2,0\n3,4,1\n5,6\n7,8,0\n"
    with pytest.raises(ValueError, match=r"line 4"):
        datasets.load(_write(tmp_path / "ragged.csv", text))


def test_csv_non_numeric_names_the_line(tmp_path):
    text = "1,2,0\n3,4,1\nfive,6,0\n7,8,1\n"
    with pytest.raises(ValueError, match=r"line 3"):
        datasets.load(_write(tmp_path / "words.csv", text))


def test_csv_single_column_is_refused(tmp_path):
    with pytest.raises(ValueError):
        datasets.load(_write(tmp_path / "one.csv", "1\n2\n3\n"))


def test_csv_nan_is_refused(tmp_path):
    with pytest.raises(ValueError):
        datasets.load(_write(tmp_path / "nan.csv", "1,2,0\nnan,4,1\n5,6,0\n"))
