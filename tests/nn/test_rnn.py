"""RNN, LSTM, GRU and their cells: torch parity of outputs, final states and every gradient across the option
grid (layers, directions, batch_first, projection, packed input, initial states, bias), reprs, parameters,
dropout between layers, errors, YAML."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnrun
from nnrun import nn
from nnrun.autograd import gradcheck
from nnrun.config import build_model, to_yaml
from nnrun.nn.utils import rnn as rnn_utils
from nnrun.summary import mult_adds
from nnrun_cli.app import app

torch = pytest.importorskip("torch")
torch_rnn_utils = pytest.importorskip("torch.nn.utils.rnn")
# torch notes (a warning) that its float32 CPU LSTM with projections skips oneDNN
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")

# (class name, extra constructor arguments)
KINDS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("LSTM", {"proj_size": 2}),
    ("GRU", {}),
]
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 3
LENGTHS = [3, 5, 2]  # unsorted, so packing sorts and the final states come back in batch order


def _pair(name, kwargs, dtype=np.float64):
    """The torch layer and an nnrun layer holding the same weights."""
    theirs = getattr(torch.nn, name)(**kwargs, dtype=getattr(torch, np.dtype(dtype).name))
    ours = getattr(nn, name)(**kwargs, dtype=getattr(nnrun, np.dtype(dtype).name))
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _both(array, requires_grad=False):
    return (
        nnrun.tensor(array, requires_grad=requires_grad),
        torch.tensor(array, requires_grad=requires_grad),
    )


def _assert_close(ours, theirs, rtol):
    theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=rtol, atol=rtol)


def _parity(name, kwargs, *, packed=False, with_h0=False, unbatched=False, dtype=np.float64, rtol=1e-10):
    """Run both layers forward, backward from random weights on every output, and compare all results."""
    ours, theirs = _pair(name, kwargs, dtype)
    rng = np.random.default_rng(0)
    lstm, batch_first = name == "LSTM", kwargs.get("batch_first", False)
    layers_dirs = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    out_size = kwargs.get("proj_size") or HIDDEN
    shape = (STEPS, INPUT) if unbatched else (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    x_ours, x_theirs = _both(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    states_ours = states_theirs = None
    leaves = [(x_ours, x_theirs)]
    if with_h0:
        batch = () if unbatched else (BATCH,)
        pairs = [_both(rng.standard_normal((layers_dirs, *batch, out_size)).astype(dtype), True)]
        if lstm:
            pairs.append(_both(rng.standard_normal((layers_dirs, *batch, HIDDEN)).astype(dtype), True))
        leaves += pairs
        states_ours = tuple(p[0] for p in pairs) if lstm else pairs[0][0]
        states_theirs = tuple(p[1] for p in pairs) if lstm else pairs[0][1]
    input_ours, input_theirs = x_ours, x_theirs
    if packed:
        input_ours = rnn_utils.pack_padded_sequence(x_ours, LENGTHS, batch_first, enforce_sorted=False)
        input_theirs = torch_rnn_utils.pack_padded_sequence(
            x_theirs, LENGTHS, batch_first, enforce_sorted=False
        )
    out_ours, hidden_ours = ours(input_ours, states_ours)
    out_theirs, hidden_theirs = theirs(input_theirs, states_theirs)
    if packed:
        assert isinstance(out_ours, rnn_utils.PackedSequence)
        assert out_ours.batch_sizes.tolist() == out_theirs.batch_sizes.tolist()
        out_ours, out_theirs = out_ours.data, out_theirs.data
    results = [(out_ours, out_theirs)]
    results += list(zip(hidden_ours, hidden_theirs)) if lstm else [(hidden_ours, hidden_theirs)]
    _assert_outputs_and_grads(results, leaves, ours, theirs, rng, dtype, rtol)


def _assert_outputs_and_grads(results, leaves, ours, theirs, rng, dtype, rtol):
    """Each (nnrun, torch) output pair in ``results`` agrees (shape, dtype, values), and so do the gradients
    of the input ``leaves`` and of every parameter after backward from one random weighting of them."""
    loss_ours = loss_theirs = 0
    for a, b in results:
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == getattr(nnrun, np.dtype(dtype).name)
        _assert_close(a, b, rtol)
        weight = rng.standard_normal(tuple(b.shape)).astype(dtype)
        loss_ours = loss_ours + (a * nnrun.tensor(weight)).sum()
        loss_theirs = loss_theirs + (b * torch.tensor(weight)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    for a, b in leaves:
        _assert_close(a.grad, b.grad, rtol)
    grads = {k: p.grad for k, p in theirs.named_parameters()}
    for k, p in ours.named_parameters():
        _assert_close(p.grad, grads[k], rtol)


GRID = list(itertools.product(KINDS, [1, 2], [False, True], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize(
    "kind, num_layers, bidirectional, batch_first, packed, with_h0",
    GRID,
    ids=lambda v: str(v[0]) + str(v[1]) if isinstance(v, tuple) else str(v),
)
def test_layer_parity_float64(kind, num_layers, bidirectional, batch_first, packed, with_h0):
    name, extra = kind
    kwargs = dict(
        input_size=INPUT,
        hidden_size=HIDDEN,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        **extra,
    )
    _parity(name, kwargs, packed=packed, with_h0=with_h0)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("packed", [False, True])
def test_layer_parity_without_bias(kind, packed):
    name, extra = kind
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bias=False, bidirectional=True, **extra)
    _parity(name, kwargs, packed=packed, with_h0=True)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("with_h0", [False, True])
def test_layer_parity_unbatched(kind, with_h0):
    name, extra = kind
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True, **extra)
    _parity(name, kwargs, unbatched=True, with_h0=with_h0)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("packed", [False, True])
def test_layer_parity_float32(kind, packed):
    name, extra = kind
    kwargs = dict(
        input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True, batch_first=True, **extra
    )
    _parity(name, kwargs, packed=packed, with_h0=True, dtype=np.float32, rtol=1e-5)


# ----- dropout between layers -----
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_applies_in_training_and_eval_matches_torch(name):
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, dropout=0.5)
    ours, theirs = _pair(name, kwargs)
    x = np.random.default_rng(1).standard_normal((STEPS, BATCH, INPUT))
    first, _ = ours(nnrun.tensor(x))
    second, _ = ours(nnrun.tensor(x))
    assert not np.allclose(first.detach().numpy(), second.detach().numpy())  # a fresh mask each call
    ours.eval()
    theirs.eval()
    _assert_close(ours(nnrun.tensor(x))[0], theirs(torch.tensor(x))[0], 1e-10)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_dropout_of_one_zeroes_the_upper_layers_input_as_torch(name):
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, dropout=1.0)
    ours, theirs = _pair(name, kwargs)
    x = np.random.default_rng(1).standard_normal((STEPS, BATCH, INPUT))
    out_ours, out_theirs = ours(nnrun.tensor(x))[0], theirs(torch.tensor(x))[0]
    _assert_close(out_ours, out_theirs, 1e-10)  # layer 2 sees zeros: deterministic in both libraries
    with nnrun.no_grad():
        ours.weight_ih_l1.fill_(3.0)
    assert np.allclose(ours(nnrun.tensor(x))[0].detach().numpy(), out_ours.detach().numpy())


def test_dropout_warning_and_training_toggle():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)


# ----- cells -----
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("cell", CELLS, ids=str)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-5)], ids=["float64", "float32"])
def test_cell_parity(cell, batched, with_hx, bias, dtype, rtol):
    name, extra = cell
    ours, theirs = _pair(name, dict(input_size=INPUT, hidden_size=HIDDEN, bias=bias, **extra), dtype)
    rng = np.random.default_rng(0)
    batch = (BATCH,) if batched else ()
    x_ours, x_theirs = _both(rng.standard_normal((*batch, INPUT)).astype(dtype), True)
    leaves = [(x_ours, x_theirs)]
    args_ours, args_theirs = [x_ours], [x_theirs]
    if with_hx:
        pairs = [_both(rng.standard_normal((*batch, HIDDEN)).astype(dtype), True)]
        if name == "LSTMCell":
            pairs.append(_both(rng.standard_normal((*batch, HIDDEN)).astype(dtype), True))
        leaves += pairs
        args_ours.append(tuple(p[0] for p in pairs) if name == "LSTMCell" else pairs[0][0])
        args_theirs.append(tuple(p[1] for p in pairs) if name == "LSTMCell" else pairs[0][1])
    out_ours, out_theirs = ours(*args_ours), theirs(*args_theirs)
    if name != "LSTMCell":
        out_ours, out_theirs = (out_ours,), (out_theirs,)
    _assert_outputs_and_grads(zip(out_ours, out_theirs), leaves, ours, theirs, rng, dtype, rtol)


def test_cell_sequence_equals_layer():
    """An LSTMCell stepped over a sequence gives the one-layer LSTM's outputs (same weights)."""
    layer = nn.LSTM(INPUT, HIDDEN, dtype=nnrun.float64)
    cell = nn.LSTMCell(INPUT, HIDDEN, dtype=nnrun.float64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = nnrun.randn(STEPS, BATCH, INPUT, dtype=nnrun.float64)
    out, (_, c) = layer(x)
    state = None
    for t in range(STEPS):
        state = cell(x[t], state)
        np.testing.assert_allclose(state[0].detach().numpy(), out[t].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(state[1].detach().numpy(), c[0].detach().numpy(), rtol=1e-12)


# ----- gradcheck through the layers -----
@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_layer_gradcheck_packed_bidirectional_two_layers(kind):
    name, extra = kind
    nnrun.manual_seed(0)
    layer = getattr(nn, name)(2, 3, num_layers=2, bidirectional=True, dtype=nnrun.float64, **extra)
    x = nnrun.randn(4, 3, 2, dtype=nnrun.float64, requires_grad=True)
    out_size = extra.get("proj_size") or 3
    h0 = nnrun.randn(4, 3, out_size, dtype=nnrun.float64, requires_grad=True)
    c0 = nnrun.randn(4, 3, 3, dtype=nnrun.float64, requires_grad=True)

    def run(x, h0, c0):
        packed = rnn_utils.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
        out, hidden = layer(packed, (h0, c0) if name == "LSTM" else h0)
        return (out.data, *hidden) if name == "LSTM" else (out.data, hidden)

    assert gradcheck(run, (x, h0, c0) if name == "LSTM" else (x, h0, c0.detach()))


# ----- construction, parameters, reprs -----
REPRS = [
    ("LSTM", (10, 20), {"num_layers": 2, "batch_first": True, "bidirectional": True}),
    ("LSTM", (10, 20), {"proj_size": 5, "num_layers": 2, "bias": False, "dropout": 0.5}),
    ("RNN", (10, 20), {"nonlinearity": "relu"}),
    ("GRU", (10, 20), {"num_layers": 3, "dropout": 0.25}),
    ("GRU", (4, 8), {}),
    ("RNNCell", (10, 20), {"nonlinearity": "relu", "bias": False}),
    ("LSTMCell", (10, 20), {"bias": False}),
    ("GRUCell", (10, 20), {}),
]


@pytest.mark.parametrize("name, args, kwargs", REPRS, ids=str)
def test_repr_state_dict_and_init_like_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    assert [tuple(v.shape) for v in ours_state.values()] == [tuple(v.shape) for v in theirs_state.values()]
    bound = 1 / math.sqrt(args[1])
    for value in ours_state.values():
        assert np.abs(value.numpy()).max() <= bound and value.numpy().std() > bound / 4  # U(-bound, bound)
    assert nn.LAYERS.get(name) is getattr(nn, name)


def test_attributes_all_weights_and_flatten_parameters():
    ours = nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    theirs = torch.nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2)
    for attr in (
        "mode",
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "proj_size",
    ):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == [
        [tuple(w.shape) for w in ws] for ws in theirs.all_weights
    ]
    assert ours.all_weights[1][0] is ours.weight_ih_l0_reverse
    assert ours.flatten_parameters() is None
    assert nn.RNN(2, 3, nonlinearity="relu").mode == "RNN_RELU" and nn.GRU(2, 3).mode == "GRU"
    assert nn.RNN(2, 3, 1, "relu").nonlinearity == "relu"  # nonlinearity is RNN's fourth argument


def test_layers_move_dtype_and_output_dtype_float32_by_default():
    layer = nn.GRU(3, 4)
    assert layer.weight_ih_l0.dtype == nnrun.float32
    out, h = layer(nnrun.randn(2, 1, 3))
    assert out.dtype == nnrun.float32 and tuple(h.shape) == (1, 1, 4)
    layer.double()
    assert layer(nnrun.randn(2, 1, 3, dtype=nnrun.float64))[0].dtype == nnrun.float64


# ----- errors, as torch raises them -----
CONSTRUCTION_ERRORS = [
    ("RNN", (10, 20), {"nonlinearity": "foo"}, ValueError, "Unknown nonlinearity 'foo'"),
    ("GRU", (10, 20), {"dropout": 1.5}, ValueError, "dropout should be a number in range"),
    ("GRU", (10, 0), {}, ValueError, "hidden_size must be greater than zero"),
    ("GRU", (10, 20), {"num_layers": 0}, ValueError, "num_layers must be greater than zero"),
    ("GRU", (10, 20), {"proj_size": 3}, ValueError, "proj_size argument is only supported for LSTM"),
    ("LSTM", (10, 20), {"proj_size": 30}, ValueError, "proj_size has to be smaller than hidden_size"),
    ("LSTM", (10, 20), {"proj_size": -1}, ValueError, "proj_size should be a positive integer"),
    ("LSTM", (10, 2.5), {}, TypeError, "hidden_size should be of type int, got: float"),
    ("LSTM", (10, 20), {"dropout": True}, ValueError, "dropout should be a number in range"),
]


@pytest.mark.parametrize("name, args, kwargs, error, match", CONSTRUCTION_ERRORS, ids=str)
def test_construction_errors_as_torch(name, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(torch.nn, name)(*args, **kwargs)
    with pytest.raises(error, match=match):
        getattr(nn, name)(*args, **kwargs)


def _forward_errors(lib):
    zeros, randn = lib.zeros, lib.randn
    lstm, gru, rnn = lib.nn.LSTM(10, 20), lib.nn.GRU(10, 20), lib.nn.RNN(10, 20)
    cell, gru_cell = lib.nn.LSTMCell(10, 20), lib.nn.GRUCell(10, 20)
    return [
        (
            lambda: lstm(randn(5, 3, 7)),
            RuntimeError,
            r"input.size\(-1\) must be equal to input_size. Expected 10",
        ),
        (lambda: lstm(randn(5, 3, 3, 10)), ValueError, "LSTM: Expected input to be 2D or 3D, got 4D instead"),
        (
            lambda: rnn(randn(5, 3, 3, 10)),
            ValueError,
            "RNN: Expected input to be 2D or 3D, got 4D tensor instead",
        ),
        (
            lambda: lstm(randn(5, 3, 10), (zeros(2, 3, 20), zeros(1, 3, 20))),
            RuntimeError,
            r"Expected hidden\[0\] size \(1, 3, 20\), got \[2, 3, 20\]",
        ),
        (
            lambda: lstm(randn(5, 3, 10), (zeros(1, 3, 20), zeros(1, 3, 21))),
            RuntimeError,
            r"Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 21\]",
        ),
        (
            lambda: lstm(randn(5, 10), (zeros(1, 3, 20), zeros(1, 3, 20))),
            RuntimeError,
            r"For unbatched 2-D input, hx and cx should also be 2-D but got \(3-D, 3-D\) tensors",
        ),
        (
            lambda: gru(randn(5, 3, 10), zeros(2, 3, 20)),
            RuntimeError,
            r"Expected hidden size \(1, 3, 20\), got \[2, 3, 20\]",
        ),
        (
            lambda: gru(randn(5, 10), zeros(1, 3, 20)),
            RuntimeError,
            "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
        ),
        (
            lambda: lstm(randn(5, 3, 10).double()),
            ValueError,
            "RNN input dtype .* does not match weight dtype",
        ),
        (
            lambda: cell(randn(3, 3, 10)),
            ValueError,
            "LSTMCell: Expected input to be 1D or 2D, got 3D instead",
        ),
        (lambda: cell(randn(3, 7)), RuntimeError, "input has inconsistent input_size: got 7 expected 10"),
        (
            lambda: cell(randn(3, 10), (zeros(3, 21), zeros(3, 20))),
            RuntimeError,
            "hidden0 has inconsistent hidden_size: got 21, expected 20",
        ),
        (lambda: cell(randn(3, 10), (zeros(3, 20),)), RuntimeError, "lstm_cell expects two hidden states"),
        (
            lambda: gru_cell(randn(3, 10), zeros(4, 20)),
            RuntimeError,
            "Input batch size 3 doesn't match hidden0 batch size 4",
        ),
    ]


@pytest.mark.parametrize("case", range(len(_forward_errors(nnrun))))
def test_forward_errors_as_torch(case):
    for lib in (torch, nnrun):
        call, error, match = _forward_errors(lib)[case]
        with pytest.raises(error, match=match):
            call()


# ----- YAML -----
def test_recurrent_layers_build_from_yaml():
    model = build_model(
        """
        module:
          Sequential:
            - {LSTM: {input_size: 3, hidden_size: 4, num_layers: 2, batch_first: true, bidirectional: true}}
        """
    )
    (lstm,) = list(model.children())
    assert repr(lstm) == "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    for name in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"):
        assert name in nn.LAYERS.entries()


# ----- summary and `nnrun inspect` (tuple outputs) -----
def test_summary_of_the_lstm_zoo_model_counts_every_step():
    zoo = Path(__file__).resolve().parents[2] / "configs" / "models" / "lstm_classifier.yaml"
    result = nnrun.summary(build_model(zoo), (8, 4))
    lstm = next(layer for layer in result.layers if layer.class_name == "LSTM")
    assert "[1, 8, 32], [2, 1, 32], [2, 1, 32]" in str(result)
    assert lstm.mult_adds == 8 * (128 * 4 + 3 * 128 * 32)  # 8 steps x every weight matrix
    assert result.total_params == 13_444
    inspected = CliRunner().invoke(app, ["inspect", str(zoo)], env={"NO_COLOR": "1", "COLUMNS": "120"})
    assert inspected.exit_code == 0, inspected.output
    assert "LSTM (lstm): 1-1" in inspected.stdout and "Total params: 13,444" in inspected.stdout
    packed = rnn_utils.pack_sequence([nnrun.ones(3, 2), nnrun.ones(1, 2)])
    gru = nn.GRU(2, 5, bidirectional=True)
    assert mult_adds(gru, (packed,), gru(packed)) == 4 * 2 * (15 * 2 + 15 * 5)  # 4 packed rows, 2 directions


def test_state_dict_round_trip_through_a_file(tmp_path):
    nnrun.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    nnrun.save(lstm.state_dict(), tmp_path / "lstm.safetensors")
    fresh = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    fresh.load_state_dict(nnrun.load(tmp_path / "lstm.safetensors"))
    x = nnrun.randn(2, 5, 3)
    with nnrun.no_grad():
        (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = lstm(x), fresh(x)
    for a, b in ((out_a, out_b), (h_a, h_b), (c_a, c_b)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_python_built_recurrent_layers_write_and_rebuild_from_yaml():
    model = nn.Sequential(
        nn.RNN(3, 4, nonlinearity="relu"), nn.LSTM(3, 5, proj_size=2), nn.GRUCell(2, 3, bias=False)
    )
    rebuilt = build_model(to_yaml(model))
    assert repr(rebuilt) == repr(model) and rebuilt[0].nonlinearity == "relu"
    assert [tuple(v.shape) for v in rebuilt.state_dict().values()] == [
        tuple(v.shape) for v in model.state_dict().values()
    ]
