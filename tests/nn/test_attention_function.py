"""F.scaled_dot_product_attention (one fused node): float64 gradchecks, torch parity of forward and
gradients over masks, causal, scale, broadcasting and grouped-query heads, dropout, and errors."""

import numpy as np
import pytest

import nnrun
from nnrun.autograd import gradcheck
from nnrun.nn import functional as F
from nnrun.ops.attention import ScaledDotProductAttention

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _pair(shape, dtype=np.float64, requires_grad=True):
    array = RNG.standard_normal(shape).astype(dtype)
    return nnrun.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _bool_mask(shape, empty_row=False):
    mask = RNG.random(shape) > 0.3
    mask[..., 0] = True  # every query sees at least one key ...
    if empty_row:
        mask[..., 1, :] = False  # ... except row 1, which sees none
    return mask


# (query, key, value shapes, options): options "mask" is "bool", "float", "bool_empty" or absent
CASES = [
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"is_causal": True}),
    ((2, 3, 6, 5), (2, 3, 4, 5), (2, 3, 4, 5), {"is_causal": True}),  # more queries than keys
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"scale": 0.3}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "bool", "mask_shape": (4, 6)}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "bool", "mask_shape": (2, 1, 4, 6)}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "float", "mask_shape": (3, 4, 6)}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "float", "mask_shape": (2, 3, 4, 6), "scale": 2.0}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "bool_empty", "mask_shape": (4, 6)}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {"mask": "float_empty", "mask_shape": (4, 6)}),
    ((4, 5), (6, 5), (6, 3), {}),  # unbatched
    ((1, 4, 5), (2, 6, 5), (2, 6, 3), {"mask": "float", "mask_shape": (4, 6)}),  # broadcast batch
    ((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 3), {"enable_gqa": True}),
    ((2, 4, 3, 5), (2, 1, 6, 5), (2, 1, 6, 3), {"enable_gqa": True, "is_causal": True}),
    ((2, 0, 3, 5), (2, 0, 6, 5), (2, 0, 6, 3), {}),  # zero heads
]


def _masks(options, dtype):
    kind = options.get("mask")
    if kind is None:
        return None, None
    shape = options["mask_shape"]
    boolean = _bool_mask(shape, empty_row=kind.endswith("empty"))
    if kind.startswith("bool"):
        return nnrun.tensor(boolean), torch.tensor(boolean)
    additive = np.where(boolean, RNG.standard_normal(shape), -np.inf).astype(dtype)
    if kind == "float":
        additive = RNG.standard_normal(shape).astype(dtype)
    return nnrun.tensor(additive, requires_grad=True), torch.tensor(additive, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "options"), CASES, ids=str)
def test_matches_torch(dtype, q_shape, k_shape, v_shape, options):
    tol = 1e-10 if dtype == np.float64 else 1e-5
    (q, tq), (k, tk), (v, tv) = _pair(q_shape, dtype), _pair(k_shape, dtype), _pair(v_shape, dtype)
    mask, tmask = _masks(options, dtype)
    kwargs = {key: options[key] for key in ("is_causal", "scale", "enable_gqa") if key in options}
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask, **kwargs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)
    grad = RNG.standard_normal(tuple(ours.shape)).astype(dtype)
    ours.backward(nnrun.tensor(grad))
    theirs.backward(torch.tensor(grad))
    pairs = [(q, tq), (k, tk), (v, tv)]
    if tmask is not None and tmask.requires_grad:
        pairs.append((mask, tmask))
    for a, b in pairs:
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


def test_fully_masked_rows_give_zeros_as_torch():
    (q, _), (k, _), (v, _) = _pair((1, 3, 4)), _pair((1, 5, 4)), _pair((1, 5, 4))
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=nnrun.tensor(mask))
    assert np.all(out.detach().numpy()[0, 1] == 0) and np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert np.all(q.grad.numpy()[0, 1] == 0)


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "options"), CASES[:14], ids=str)
def test_gradcheck(q_shape, k_shape, v_shape, options):
    shapes = (q_shape, k_shape, v_shape)
    q, k, v = (nnrun.randn(*shape, dtype=nnrun.float64, requires_grad=True) for shape in shapes)
    mask, _ = _masks(options, np.float64)
    kwargs = {key: options[key] for key in ("is_causal", "scale", "enable_gqa") if key in options}
    inputs = (q, k, v) if mask is None else (q, k, v, mask)

    def attend(q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)

    assert gradcheck(attend, inputs)


def test_gradcheck_with_a_fixed_dropout_mask():
    q, k, v = (nnrun.randn(2, 3, n, 4, dtype=nnrun.float64, requires_grad=True) for n in (5, 6, 6))
    keep = np.random.default_rng(1).random((2, 3, 5, 6)) >= 0.4
    dropout = keep / 0.6
    mask = nnrun.tensor(np.random.default_rng(2).standard_normal((5, 6)), requires_grad=True)

    def attend(q, k, v, mask):
        return ScaledDotProductAttention.apply(q, k, v, mask, dropout, 0.5, False, 1)

    assert gradcheck(attend, (q, k, v, mask))


def test_dropout_drops_weights_and_rescales():
    q, k, v = (nnrun.randn(2, 2, 5, 4, dtype=nnrun.float64) for _ in range(3))
    nnrun.manual_seed(0)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    nnrun.manual_seed(0)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    plain = F.scaled_dot_product_attention(q, k, v)
    assert not np.allclose(first.numpy(), plain.numpy())
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy() == 0)
    # the expected output over many draws is the output without dropout
    q1, k1, v1 = (nnrun.randn(1, 3, 4, dtype=nnrun.float64) for _ in range(3))
    draws = [F.scaled_dot_product_attention(q1, k1, v1, dropout_p=0.3).numpy() for _ in range(3000)]
    expected = F.scaled_dot_product_attention(q1, k1, v1).numpy()
    np.testing.assert_allclose(np.mean(draws, axis=0), expected, atol=0.1)


def test_single_node_in_the_graph():
    q, k, v = (nnrun.randn(2, 3, 4, requires_grad=True) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.grad_fn.name() == "ScaledDotProductAttentionBackward0"
    assert out.dtype == nnrun.float32


ERRORS = [
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": "bool", "is_causal": True}, "Explicit attn_mask"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"attn_mask": "int"}, "attn_mask dtype"),
    (((2, 3, 4), (2, 5, 3), (2, 5, 6)), {}, "last dimension"),
    (((2, 3, 4), (2, 5, 4), (2, 4, 6)), {}, "same length"),
    (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"dropout_p": 1.5}, "dropout probability"),
    (((4, 3, 4), (2, 5, 4), (2, 5, 6)), {}, "must match the size"),
    (((4,), (5, 4), (5, 4)), {}, "at least 2 dimensional"),
    (((2, 4, 3, 4), (2, 3, 5, 4), (2, 3, 5, 4)), {"enable_gqa": True}, "Number of heads"),
    (((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4)), {}, "must match the size"),
]


@pytest.mark.parametrize(("shapes", "options", "message"), ERRORS, ids=lambda x: str(x)[:40])
def test_errors_as_torch(shapes, options, message):
    ours = [nnrun.randn(*s) for s in shapes]
    theirs = [torch.randn(*s) for s in shapes]
    options = dict(options)
    mask_kind = options.pop("attn_mask", None)
    dtypes = {"bool": (nnrun.bool, torch.bool), "int": (nnrun.int64, torch.int64)}
    our_mask = their_mask = None
    if mask_kind:
        our_mask = nnrun.ones(3, 5, dtype=dtypes[mask_kind][0])
        their_mask = torch.ones(3, 5, dtype=dtypes[mask_kind][1])
    with pytest.raises(RuntimeError):
        torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=their_mask, **options)
    with pytest.raises(RuntimeError, match=message):
        F.scaled_dot_product_attention(*ours, attn_mask=our_mask, **options)


def test_query_key_value_dtypes_must_agree():
    q = nnrun.randn(2, 3, 4, dtype=nnrun.float64)
    k, v = nnrun.randn(2, 5, 4), nnrun.randn(2, 5, 4)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, k, v)
