"""nn.MultiheadAttention: torch parity (outputs, weights, input and parameter gradients) over its options and
masks with torch's weights loaded, parameters and init, repr, state_dict, errors."""

import itertools

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.nn import functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
E, HEADS, L, S, N = 8, 2, 4, 5, 3


def _both(array, requires_grad=True):
    return nnrun.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _copy_state(ours, theirs):
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})


def _modules(dtype=torch.float64, **options):
    theirs = torch.nn.MultiheadAttention(E, HEADS, dtype=dtype, **options)
    with torch.no_grad():
        for parameter in theirs.parameters():  # torch starts its biases at zero: make them matter
            parameter.uniform_(-0.5, 0.5)
    ours = nn.MultiheadAttention(E, HEADS, dtype=nnrun.float64 if dtype == torch.float64 else None, **options)
    _copy_state(ours, theirs)
    return ours, theirs


def _mask(kind, shape, dtype):
    """A mask in torch's MHA convention (True / -inf = masked) that leaves every row some key."""
    masked = RNG.random(shape) < 0.3
    masked[..., 0] = False
    if kind == "bool":
        return _both(masked, requires_grad=False)
    return _both(
        np.where(masked, -np.inf, RNG.standard_normal(shape) * 0.1).astype(dtype), requires_grad=False
    )


def _close(a, b, tol):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _check(ours, theirs, inputs, kwargs, dtype=np.float64):
    """Run both modules on the same inputs; compare output, weights and every gradient."""
    tol = 1e-10 if dtype == np.float64 else 1e-5
    ours_in = [pair[0] for pair in inputs]
    theirs_in = [pair[1] for pair in inputs]
    our_kwargs = {k: v[0] if isinstance(v, tuple) else v for k, v in kwargs.items()}
    their_kwargs = {k: v[1] if isinstance(v, tuple) else v for k, v in kwargs.items()}
    out, weights = ours(*ours_in, **our_kwargs)
    t_out, t_weights = theirs(*theirs_in, **their_kwargs)
    _close(out, t_out, tol)
    assert (weights is None) == (t_weights is None)
    grad = RNG.standard_normal(tuple(out.shape)).astype(dtype)
    loss = (out * nnrun.tensor(grad)).sum()
    t_loss = (t_out * torch.tensor(grad)).sum()
    if weights is not None:
        _close(weights, t_weights, tol)
        w_grad = RNG.standard_normal(tuple(weights.shape)).astype(dtype)
        loss = loss + (weights * nnrun.tensor(w_grad)).sum()
        t_loss = t_loss + (t_weights * torch.tensor(w_grad)).sum()
    loss.backward()
    t_loss.backward()
    seen = set()
    for ours_x, theirs_x in inputs:
        if id(ours_x) not in seen:
            seen.add(id(ours_x))
            _close(ours_x.grad, theirs_x.grad, tol)
    ours_params = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        _close(ours_params[name].grad, parameter.grad, tol)


MODULE_OPTIONS = [
    {},
    {"bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True},
    {"kdim": 6, "vdim": 3},
    {"batch_first": True},
    {"kdim": 6, "vdim": 3, "batch_first": True, "bias": False},
]
MASKS = [
    {},
    {"attn_mask": "bool2"},
    {"attn_mask": "float3"},
    {"key_padding_mask": "bool"},
    {"key_padding_mask": "float", "attn_mask": "float2"},
    {"key_padding_mask": "bool", "attn_mask": "bool2"},
]
WEIGHTS = [
    {"need_weights": True},
    {"need_weights": False},
    {"need_weights": True, "average_attn_weights": False},
]


def _inputs(options, self_attention, dtype=np.float64):
    batch_first = options.get("batch_first", False)
    kdim, vdim = options.get("kdim", E), options.get("vdim", E)

    def seq(length, dim):
        shape = (N, length, dim) if batch_first else (length, N, dim)
        return _both(RNG.standard_normal(shape).astype(dtype))

    if self_attention:
        x = seq(L, E)
        return [x, x, x], L
    return [seq(L, E), seq(S, kdim), seq(S, vdim)], S


def _mask_kwargs(masks, source_len, dtype=np.float64):
    kwargs = {}
    for name, kind in masks.items():
        if name == "key_padding_mask":
            kwargs[name] = _mask(kind, (N, source_len), dtype)
        elif kind.endswith("2"):
            kwargs[name] = _mask(kind[:-1], (L, source_len), dtype)
        else:
            kwargs[name] = _mask(kind[:-1], (N * HEADS, L, source_len), dtype)
    return kwargs


@pytest.mark.parametrize(
    ("options", "masks", "weights"), list(itertools.product(MODULE_OPTIONS, MASKS, WEIGHTS)), ids=str
)
def test_matches_torch(options, masks, weights):
    ours, theirs = _modules(**options)
    self_attention = "kdim" not in options
    inputs, source_len = _inputs(options, self_attention)
    _check(ours, theirs, inputs, {**_mask_kwargs(masks, source_len), **weights})


@pytest.mark.parametrize("self_attention", [True, False])
def test_matches_torch_in_float32(self_attention):
    ours, theirs = _modules(dtype=torch.float32, add_bias_kv=True)
    inputs, source_len = _inputs({}, self_attention, dtype=np.float32)
    masks = _mask_kwargs({"attn_mask": "float2", "key_padding_mask": "bool"}, source_len, np.float32)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask"):
        out = ours(*[x[0] for x in inputs], **{k: v[0] for k, v in masks.items()})[0]
    with pytest.warns(UserWarning, match="mismatched key_padding_mask"):
        t_out = theirs(*[x[1] for x in inputs], **{k: v[1] for k, v in masks.items()})[0]
    _close(out, t_out, 1e-5)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("masks", [{}, {"attn_mask": "bool2", "key_padding_mask": "bool"}], ids=str)
def test_unbatched_matches_torch(need_weights, masks):
    ours, theirs = _modules(batch_first=True)
    x = _both(RNG.standard_normal((L, E)))
    kwargs = {"need_weights": need_weights}
    for name, kind in masks.items():
        shape = (S,) if name == "key_padding_mask" else (L, S)
        kwargs[name] = _mask(kind[:4], shape, np.float64)
    key, value = _both(RNG.standard_normal((S, E))), _both(RNG.standard_normal((S, E)))
    _check(ours, theirs, [x, key, value], kwargs)


def test_unbatched_with_a_per_head_mask():
    ours, theirs = _modules()
    x = _both(RNG.standard_normal((L, E)))
    _check(ours, theirs, [x, x, x], {"attn_mask": _mask("bool", (HEADS, L, L), np.float64)})


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("padding", [False, True])
def test_is_causal_hint_with_the_causal_mask(need_weights, padding):
    ours, theirs = _modules(batch_first=True)
    x = _both(RNG.standard_normal((N, L, E)))
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=nnrun.float64)
    kwargs = {
        "attn_mask": (causal, torch.tensor(causal.numpy())),
        "is_causal": True,
        "need_weights": need_weights,
    }
    if padding:
        kwargs["key_padding_mask"] = _mask("float", (N, L), np.float64)
    _check(ours, theirs, [x, x, x], kwargs)


def test_fully_masked_rows_as_torch():
    """With weights computed explicitly a fully masked row is NaN (softmax of all -inf); the fused path gives
    zeros. torch behaves the same on both paths."""
    ours, theirs = _modules()
    x = _both(RNG.standard_normal((L, N, E)))
    padding = np.zeros((N, L), dtype=bool)
    padding[1] = True
    for need_weights in (True, False):
        with np.errstate(invalid="ignore"):  # NumPy notes the NaN of softmax over all -inf; torch is silent
            out = ours(x[0], x[0], x[0], key_padding_mask=nnrun.tensor(padding), need_weights=need_weights)[0]
        t_out = theirs(x[1], x[1], x[1], key_padding_mask=torch.tensor(padding), need_weights=need_weights)[0]
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
        assert np.isnan(out.detach().numpy()[:, 1]).all() == need_weights


def test_eval_turns_dropout_off_and_train_applies_it():
    ours, theirs = _modules(dropout=0.5)
    x = _both(RNG.standard_normal((L, N, E)))
    ours.eval()
    theirs.eval()
    _check(ours, theirs, [x, x, x], {})
    ours.train()
    nnrun.manual_seed(0)
    out, weights = ours(x[0], x[0], x[0], average_attn_weights=False)
    zeros = (weights.detach().numpy() == 0).mean()
    assert 0.3 < zeros < 0.7
    fused, _ = ours(x[0], x[0], x[0], need_weights=False)
    assert fused.shape == out.shape and not np.allclose(fused.detach().numpy(), out.detach().numpy())


def test_parameters_state_dict_and_repr_as_torch():
    for options in MODULE_OPTIONS:
        ours, theirs = (
            nn.MultiheadAttention(E, HEADS, **options),
            torch.nn.MultiheadAttention(E, HEADS, **options),
        )
        assert repr(ours) == repr(theirs)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
            (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
        ]
        for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "batch_first", "dropout"):
            assert getattr(ours, name) == getattr(theirs, name)
        assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim


def test_init_as_torch():
    module = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = (6 / (64 + 3 * 64)) ** 0.5
    weight = module.in_proj_weight.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert np.all(module.in_proj_bias.detach().numpy() == 0)
    assert np.all(module.out_proj.bias.detach().numpy() == 0)
    assert module.bias_k.shape == (1, 1, 64) and np.abs(module.bias_k.detach().numpy()).max() > 0
    separate = nn.MultiheadAttention(8, 2, kdim=4, vdim=6)
    assert separate.in_proj_weight is None and separate.k_proj_weight.shape == (8, 4)


def test_constructor_errors_as_torch():
    with pytest.raises(AssertionError, match="divisible"):
        torch.nn.MultiheadAttention(10, 3)
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        torch.nn.MultiheadAttention(0, 2)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)


def test_forward_errors_as_torch():
    ours, theirs = _modules()
    x = _both(RNG.standard_normal((L, N, E)))
    bad = [
        ({"attn_mask": (L + 1, L)}, RuntimeError, "2D attn_mask"),
        ({"attn_mask": (N, L, L)}, RuntimeError, "3D attn_mask"),
        ({"key_padding_mask": (N, L + 1)}, AssertionError, "key_padding_mask"),
    ]
    for kwargs, error, message in bad:
        ((name, shape),) = kwargs.items()
        mask = np.zeros(shape, dtype=bool)
        with pytest.raises(error):
            theirs(x[1], x[1], x[1], **{name: torch.tensor(mask)})
        with pytest.raises(error, match=message):
            ours(x[0], x[0], x[0], **{name: nnrun.tensor(mask)})
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        theirs(x[1], x[1], x[1], is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ours(x[0], x[0], x[0], is_causal=True)
    four = np.zeros((1, L, N, E))
    with pytest.raises(AssertionError):
        theirs(*(torch.tensor(four),) * 3)
    with pytest.raises(AssertionError, match="2D or batched 3D"):
        ours(*(nnrun.tensor(four),) * 3)


def test_functional_form_matches_the_module():
    module = nn.MultiheadAttention(E, HEADS)
    x = nnrun.randn(L, N, E)
    expected, weights = module(x, x, x)
    out, f_weights = F.multi_head_attention_forward(
        x, x, x, E, HEADS, module.in_proj_weight, module.in_proj_bias, None, None, False, 0.0,
        module.out_proj.weight, module.out_proj.bias,
    )  # fmt: skip
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(f_weights.detach().numpy(), weights.detach().numpy(), rtol=1e-6)


def test_functional_static_keys_match_torch():
    ours, theirs = _modules()
    x = _both(RNG.standard_normal((L, N, E)))
    static_k = _both(RNG.standard_normal((N * HEADS, S, E // HEADS)))
    static_v = _both(RNG.standard_normal((N * HEADS, S, E // HEADS)))

    def run(lib, module, i):
        return lib(
            x[i], x[i], x[i], E, HEADS, module.in_proj_weight, module.in_proj_bias, None, None, False, 0.0,
            module.out_proj.weight, module.out_proj.bias, static_k=static_k[i], static_v=static_v[i],
        )  # fmt: skip

    out, weights = run(F.multi_head_attention_forward, ours, 0)
    t_out, t_weights = run(torch.nn.functional.multi_head_attention_forward, theirs, 1)
    _close(out, t_out, 1e-10)
    _close(weights, t_weights, 1e-10)


def test_yaml_round_trip():
    from nnrun.config import build_model, to_yaml

    module = nn.MultiheadAttention(8, 2, dropout=0.1, bias=False, add_bias_kv=True, kdim=4, batch_first=True)
    rebuilt = build_model(to_yaml(module))
    assert repr(rebuilt) == repr(module)
    assert [(k, tuple(v.shape)) for k, v in rebuilt.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in module.state_dict().items()
    ]
    assert (rebuilt.dropout, rebuilt.batch_first, rebuilt.kdim) == (0.1, True, 4)
