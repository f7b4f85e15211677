"""Float64 finite-difference checks of the fused recurrence (``ops/recurrent.py``): every mode, both
directions, padded and packed batches, initial states, biases and the LSTM projection."""

import pytest
from grad_inputs import leaf

from nnrun.autograd import gradcheck
from nnrun.ops.recurrent import GATES, recurrence

# (mode, projection size)
MODES = [("RNN_TANH", 0), ("RNN_RELU", 0), ("LSTM", 0), ("LSTM", 2), ("GRU", 0)]
HIDDEN, INPUT = 3, 2


def _weights(mode, proj, bias):
    gates = GATES[mode] * HIDDEN
    out = proj or HIDDEN
    weights = [leaf(gates, INPUT), leaf(gates, out)]
    if bias:
        weights += [leaf(gates), leaf(gates)]
    if proj:
        weights.append(leaf(proj, HIDDEN))
    return weights


@pytest.mark.parametrize("mode, proj", MODES, ids=str)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("batch_sizes", [(3, 3, 2, 1), (2, 2, 2)], ids=["packed", "padded"])
def test_recurrence_gradcheck(mode, proj, reverse, batch_sizes):
    lstm = mode == "LSTM"
    x = leaf(sum(batch_sizes), INPUT)
    h0 = leaf(batch_sizes[0], proj or HIDDEN)
    c0 = leaf(batch_sizes[0], HIDDEN) if lstm else None
    weights = _weights(mode, proj, bias=True)

    def run(x, h0, c0, *weights):
        return recurrence(x, h0, c0, list(weights), mode, batch_sizes, reverse)

    if lstm:
        assert gradcheck(run, (x, h0, c0, *weights))
    else:
        assert gradcheck(lambda x, h0, *w: run(x, h0, None, *w), (x, h0, *weights))


@pytest.mark.parametrize("mode, proj", MODES, ids=str)
def test_recurrence_gradcheck_without_bias_or_initial_state(mode, proj):
    x = leaf(4, 2, INPUT)  # (T, B, I): the padded layout
    weights = _weights(mode, proj, bias=False)
    assert gradcheck(lambda x, *w: recurrence(x, None, None, list(w), mode, (2,) * 4), (x, *weights))


def test_recurrence_output_shapes():
    x = leaf(5, 3, INPUT)
    y, h, c = recurrence(x, None, None, _weights("LSTM", 2, True), "LSTM", (3,) * 5)
    assert tuple(y.shape) == (5, 3, 2) and tuple(h.shape) == (3, 2) and tuple(c.shape) == (3, HIDDEN)


def test_an_input_changed_in_place_after_forward_is_caught():
    x = leaf(4, 2, INPUT)
    y = x * 1.0
    out, _ = recurrence(y, None, None, _weights("GRU", 0, True), "GRU", (2,) * 4)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
