"""Network: flat-vector layout, weight mask, pack/unpack, forward for one vector and a swarm, init."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import swarmreg as sr

HIDDEN = ("tanh", "relu", "sigmoid")
ACT = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "sigmoid": expit}


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_n_params_of_4_8_3_is_67():
    assert sr.Network((4, 8, 3)).n_params == 4 * 8 + 8 + 8 * 3 + 3 == 67


@pytest.mark.parametrize("sizes", [(4, 8, 3), (2, 3), (3, 4, 5, 2), (1, 1, 1)])
def test_n_params_counts_weights_and_biases(sizes):
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert sr.Network(sizes).n_params == expected


@pytest.mark.parametrize("sizes", [(4, 8, 3), (3, 4, 5, 2)])
def test_weight_mask_true_exactly_on_weights_layer_by_layer(sizes):
    net = sr.Network(sizes)
    expected = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        expected += [True] * (fan_in * fan_out) + [False] * fan_out
    mask = net.weight_mask
    assert mask.dtype == bool and mask.shape == (net.n_params,)
    np.testing.assert_array_equal(mask, expected)


def test_weight_mask_agrees_with_unpack():
    net = sr.Network((4, 8, 3))
    w = np.arange(net.n_params, dtype=float)
    weights = np.concatenate([W.ravel() for W, _ in net.unpack(w)])
    biases = np.concatenate([b for _, b in net.unpack(w)])
    np.testing.assert_array_equal(np.sort(w[net.weight_mask]), np.sort(weights))
    np.testing.assert_array_equal(np.sort(w[~net.weight_mask]), np.sort(biases))


def test_flat_layout_is_w_row_major_then_b_per_layer():
    net = sr.Network((2, 3, 2))
    w = np.arange(net.n_params, dtype=float)
    (W1, b1), (W2, b2) = net.unpack(w)
    assert W1.shape == (2, 3) and b1.shape == (3,) and W2.shape == (3, 2) and b2.shape == (2,)
    np.testing.assert_array_equal(W1, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(b1, [6, 7, 8])
    np.testing.assert_array_equal(W2, [[9, 10], [11, 12], [13, 14]])
    np.testing.assert_array_equal(b2, [15, 16])


@st.composite
def _net_and_seed(draw):
    sizes = tuple(draw(st.lists(st.integers(1, 6), min_size=2, max_size=5)))
    return sr.Network(sizes), draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 5))


@settings(max_examples=60, deadline=None)
@given(_net_and_seed())
def test_pack_unpack_round_trip_one_vector(case):
    net, seed, _ = case
    w = np.random.default_rng(seed).standard_normal(net.n_params)
    layers = net.unpack(w)
    assert len(layers) == len(net.sizes) - 1
    for (W, b), fan_in, fan_out in zip(layers, net.sizes[:-1], net.sizes[1:]):
        assert W.shape == (fan_in, fan_out) and b.shape == (fan_out,)
    back = net.pack(layers)
    assert back.shape == (net.n_params,)
    np.testing.assert_array_equal(back, w)
    # and the other way: unpack(pack(layers)) gives the same arrays
    for (W, b), (W2, b2) in zip(layers, net.unpack(back)):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


@settings(max_examples=60, deadline=None)
@given(_net_and_seed())
def test_pack_unpack_round_trip_swarm(case):
    net, seed, P = case
    W = np.random.default_rng(seed).standard_normal((P, net.n_params))
    layers = net.unpack(W)
    for (Wl, bl), fan_in, fan_out in zip(layers, net.sizes[:-1], net.sizes[1:]):
        assert Wl.shape == (P, fan_in, fan_out) and bl.shape == (P, fan_out)
    np.testing.assert_array_equal(net.pack(layers), W)
    # the swarm's layers are the per-row layers stacked
    for p in range(P):
        for (Wl, bl), (Wr, br) in zip(layers, net.unpack(W[p])):
            np.testing.assert_array_equal(Wl[p], Wr)
            np.testing.assert_array_equal(bl[p], br)


def test_pack_refuses_wrong_shapes():
    net = sr.Network((2, 3, 2))
    layers = net.unpack(np.zeros(net.n_params))
    with pytest.raises(ValueError):
        net.pack(layers[:1])
    with pytest.raises(ValueError):
        net.pack([(np.zeros((3, 2)), np.zeros(3)), layers[1]])


def test_unpack_refuses_wrong_length():
    net = sr.Network((2, 3, 2))
    with pytest.raises(ValueError):
        net.unpack(np.zeros(net.n_params + 1))


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_forward_by_hand_two_layer_net(hidden, output):
    net = sr.Network((2, 3, 2), hidden=hidden, output=output)
    W1 = np.array([[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]])
    b1 = np.array([0.1, -0.2, 0.3])
    W2 = np.array([[1.0, -0.5], [0.2, 0.8], [-1.2, 0.4]])
    b2 = np.array([-0.3, 0.6])
    w = net.pack([(W1, b1), (W2, b2)])
    X = np.array([[1.0, 2.0], [-0.5, 0.25], [0.0, 0.0], [3.0, -1.0]])
    expected = np.empty((len(X), 2))
    for i, x in enumerate(X):  # element by element, no matrix products
        h = [ACT[hidden](sum(x[j] * W1[j, k] for j in range(2)) + b1[k]) for k in range(3)]
        z = np.array([sum(h[j] * W2[j, k] for j in range(3)) + b2[k] for k in range(2)])
        expected[i] = _softmax(z) if output == "softmax" else z
    np.testing.assert_allclose(net.forward(X, w), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_forward_swarm_equals_forward_of_each_row(hidden, output):
    net = sr.Network((4, 6, 5, 3), hidden=hidden, output=output)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((11, 4))
    W = rng.standard_normal((7, net.n_params))
    out = net.forward(X, W)
    assert out.shape == (7, 11, 3)
    for p in range(7):
        np.testing.assert_allclose(out[p], net.forward(X, W[p]), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_softmax_rows_sum_to_one(hidden):
    net = sr.Network((4, 8, 3), hidden=hidden)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((20, 4))
    W = 5 * rng.standard_normal((3, net.n_params))
    out = net.forward(X, W)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.forward(X, W[0]).sum(axis=-1), 1.0, rtol=0, atol=1e-12)


def test_forward_does_not_modify_inputs():
    net = sr.Network((4, 8, 3))
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 4))
    w = rng.standard_normal(net.n_params)
    X0, w0 = X.copy(), w.copy()
    net.forward(X, w)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(w, w0)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_init_shapes_and_bounds(hidden):
    net = sr.Network((4, 8, 3), hidden=hidden)
    one = net.init(np.random.default_rng(0))
    many = net.init(np.random.default_rng(0), 25)
    assert one.shape == (net.n_params,) and many.shape == (25, net.n_params)
    scale = np.asarray(net.init_scale)
    assert np.all(scale > 0)
    assert np.all(np.abs(one) <= scale)
    assert np.all(np.abs(many) <= scale)
    assert np.all(many.std(axis=0) > 0)  # the particles differ
    # the Glorot bound scikit-learn uses: sqrt(f / (fan_in + fan_out)), f = 2 for sigmoid, else 6
    f = 2.0 if hidden == "sigmoid" else 6.0
    first_layer = slice(0, 4 * 8 + 8)
    np.testing.assert_allclose(np.broadcast_to(scale, (net.n_params,))[first_layer], np.sqrt(f / 12))


def test_init_draws_only_from_the_given_generator():
    net = sr.Network((4, 8, 3))
    np.random.seed(12345)
    before = np.random.get_state()
    a = net.init(np.random.default_rng(7))
    b = net.init(np.random.default_rng(7))
    assert a.tobytes() == b.tobytes()
    s1 = net.init(np.random.default_rng(7), 5)
    s2 = net.init(np.random.default_rng(7), 5)
    assert s1.tobytes() == s2.tobytes()
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]
    # different seeds differ, and the generator advances
    assert not np.array_equal(a, net.init(np.random.default_rng(8)))
    rng = np.random.default_rng(7)
    assert not np.array_equal(net.init(rng), net.init(rng))


def test_init_does_not_depend_on_global_state():
    net = sr.Network((4, 8, 3))
    np.random.seed(1)
    a = net.init(np.random.default_rng(3))
    np.random.seed(2)
    np.random.standard_normal(100)
    b = net.init(np.random.default_rng(3))
    assert a.tobytes() == b.tobytes()


def test_init_refuses_a_non_generator():
    net = sr.Network((4, 8, 3))
    with pytest.raises(TypeError):
        net.init(0)
    with pytest.raises(TypeError):
        net.init(np.random.RandomState(0))


def test_predict_softmax_gives_argmax_labels():
    net = sr.Network((4, 8, 3))
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 4))
    w = 3 * rng.standard_normal(net.n_params)
    labels = net.predict(X, w)
    np.testing.assert_array_equal(labels, net.forward(X, w).argmax(axis=1))
    assert labels.shape == (30,) and set(np.unique(labels)) <= {0, 1, 2}


def test_predict_identity_gives_outputs():
    net = sr.Network((3, 4, 2), output="identity")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9, 3))
    w = rng.standard_normal(net.n_params)
    np.testing.assert_array_equal(net.predict(X, w), net.forward(X, w))


@pytest.mark.parametrize("kwargs", [
    {"sizes": (4,)}, {"sizes": (4, 0, 3)}, {"sizes": (4, -1, 3)}, {"sizes": (4, 2.5, 3)},
    {"sizes": (4, 8, 3), "hidden": "softmax"}, {"sizes": (4, 8, 3), "output": "tanh"},
])
def test_bad_network_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        sr.Network(**kwargs)


def test_sizes_must_be_a_sequence():
    with pytest.raises(TypeError):
        sr.Network("483")
    with pytest.raises(TypeError):
        sr.Network(4)
