"""Transformer encoder/decoder layers, their stacks and nn.Transformer: torch parity (eval mode, torch's
weights loaded through state_dict, masks included; outputs and gradients), reprs, state_dict layout, errors,
YAML."""

import itertools
import warnings

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.config import build_model

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
D, HEADS, FF, S, T, N = 8, 2, 16, 5, 4, 3


def _both(array, requires_grad=True):
    return nnrun.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _load_torch_weights(ours, theirs):
    with torch.no_grad():
        for parameter in theirs.parameters():  # LayerNorm starts at 1/0 and MHA biases at 0: make them matter
            parameter.add_(torch.empty_like(parameter).uniform_(-0.2, 0.2))
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _run_both(ours, theirs, args, kwargs, dtype=np.float64):
    """Call both modules (args: pairs, kwargs: pairs or plain values); compare outputs and all gradients."""
    tol = 1e-10 if dtype == np.float64 else 1e-5
    pick = [lambda v, i=i: v[i] if isinstance(v, tuple) else v for i in (0, 1)]
    out = ours(*[a[0] for a in args], **{k: pick[0](v) for k, v in kwargs.items()})
    t_out = theirs(*[a[1] for a in args], **{k: pick[1](v) for k, v in kwargs.items()})
    _close(out, t_out, tol)
    grad = RNG.standard_normal(tuple(out.shape)).astype(dtype)
    out.backward(nnrun.tensor(grad))
    t_out.backward(torch.tensor(grad))
    for a, b in args:
        _close(a.grad, b.grad, tol)
    ours_params = dict(ours.named_parameters())
    for name, parameter in theirs.named_parameters():
        _close(ours_params[name].grad, parameter.grad, tol)


def _seq(length, batch_first, dtype=np.float64, batched=True):
    shape = ((N, length, D) if batch_first else (length, N, D)) if batched else (length, D)
    return _both(RNG.standard_normal(shape).astype(dtype))


def _padding(length, batched=True, additive=False):
    """A key padding mask (True = padding); ``additive``: as a float mask (-inf = padding), the form to
    combine with a float attention mask (mixing the two kinds is deprecated in torch and warns)."""
    mask = RNG.random((N, length) if batched else (length,)) < 0.3
    mask[..., 0] = False
    if additive:
        mask = np.where(mask, -np.inf, 0.0)
    return _both(mask, requires_grad=False)


def _causal(length, dtype=np.float64):
    mask = nn.Transformer.generate_square_subsequent_mask(length, dtype=nnrun.float64).numpy().astype(dtype)
    return _both(mask, requires_grad=False)


def _activation(kind):
    if kind == "module":
        return nn.GELU(), torch.nn.GELU()
    return kind, kind


LAYER_OPTIONS = [
    {},
    {"norm_first": True},
    {"batch_first": True, "activation": "gelu"},
    {"batch_first": True, "norm_first": True, "activation": "module"},
    {"bias": False, "layer_norm_eps": 1e-3},
]
ENCODER_MASKS = [
    {},
    {"src_mask": "causal", "is_causal": True},
    {"src_mask": "bool"},
    {"src_key_padding_mask": 1},
]


def _encoder_layers(options, dtype=torch.float64):
    options = dict(options)
    ours_act, theirs_act = _activation(options.pop("activation", "relu"))
    our_dtype = nnrun.float64 if dtype == torch.float64 else nnrun.float32
    ours = nn.TransformerEncoderLayer(D, HEADS, FF, activation=ours_act, dtype=our_dtype, **options)
    theirs = torch.nn.TransformerEncoderLayer(D, HEADS, FF, activation=theirs_act, dtype=dtype, **options)
    return ours, theirs


def _mask_kwargs(masks, length, source_length, dtype=np.float64):
    """The forward keywords ``masks`` names (name: kind) for ``length`` queries over ``source_length`` keys:
    ``is_causal`` flags as given, causal, random boolean, and key padding masks (of the target for ``tgt_``
    names, else of the source; additive when ``'float'``)."""
    kwargs = {}
    for name, kind in masks.items():
        if name.endswith("is_causal"):
            kwargs[name] = kind
        elif kind == "causal":
            kwargs[name] = _causal(length, dtype)
        elif kind == "bool":
            mask = RNG.random((length, source_length)) < 0.3
            mask[:, 0] = False
            kwargs[name] = _both(mask, requires_grad=False)
        else:
            padded = length if name.startswith("tgt") else source_length
            kwargs[name] = _padding(padded, additive=kind == "float")
    return kwargs


@pytest.mark.parametrize(("options", "masks"), list(itertools.product(LAYER_OPTIONS, ENCODER_MASKS)), ids=str)
def test_encoder_layer_matches_torch(options, masks):
    ours, theirs = _encoder_layers(options)
    _load_torch_weights(ours, theirs)
    src = _seq(S, options.get("batch_first", False))
    _run_both(ours, theirs, [src], _mask_kwargs(masks, S, S))


def test_encoder_layer_matches_torch_in_float32_and_unbatched():
    ours, theirs = _encoder_layers({"batch_first": True}, dtype=torch.float32)
    _load_torch_weights(ours, theirs)
    _run_both(ours, theirs, [_seq(S, True, np.float32)], {}, dtype=np.float32)
    src = _seq(S, True, np.float32, batched=False)
    _run_both(ours, theirs, [src], {"src_key_padding_mask": _padding(S, batched=False)}, dtype=np.float32)


DECODER_MASKS = [
    {},
    {"tgt_mask": "causal", "tgt_is_causal": True},
    {"tgt_mask": "causal", "tgt_key_padding_mask": "float", "memory_key_padding_mask": 1},
    {"memory_mask": "bool"},
]


@pytest.mark.parametrize(("options", "masks"), list(itertools.product(LAYER_OPTIONS, DECODER_MASKS)), ids=str)
def test_decoder_layer_matches_torch(options, masks):
    options = dict(options)
    ours_act, theirs_act = _activation(options.pop("activation", "relu"))
    ours = nn.TransformerDecoderLayer(D, HEADS, FF, activation=ours_act, dtype=nnrun.float64, **options)
    theirs = torch.nn.TransformerDecoderLayer(
        D, HEADS, FF, activation=theirs_act, dtype=torch.float64, **options
    )
    _load_torch_weights(ours, theirs)
    batch_first = options.get("batch_first", False)
    tgt, memory = _seq(T, batch_first), _seq(S, batch_first)
    _run_both(ours, theirs, [tgt, memory], _mask_kwargs(masks, T, S))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "masks", [{}, {"mask": "causal"}, {"mask": "causal", "src_key_padding_mask": "float"}], ids=str
)
def test_encoder_stack_matches_torch(batch_first, masks):
    our_layer, their_layer = _encoder_layers({"batch_first": batch_first})
    ours = nn.TransformerEncoder(our_layer, 2, norm=nn.LayerNorm(D, dtype=nnrun.float64))
    theirs = torch.nn.TransformerEncoder(
        their_layer, 2, norm=torch.nn.LayerNorm(D, dtype=torch.float64), enable_nested_tensor=False
    )
    _load_torch_weights(ours, theirs)
    _run_both(ours, theirs, [_seq(S, batch_first)], _mask_kwargs(masks, S, S))


def test_decoder_stack_matches_torch():
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, HEADS, FF, dtype=nnrun.float64), 2)
    theirs = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(D, HEADS, FF, dtype=torch.float64), 2
    )
    _load_torch_weights(ours, theirs)
    masks = {"tgt_mask": "causal", "memory_key_padding_mask": 1, "tgt_key_padding_mask": "float"}
    masks = _mask_kwargs(masks, T, S)
    _run_both(ours, theirs, [_seq(T, False), _seq(S, False)], masks)


def _transformers(**options):
    ours = nn.Transformer(D, HEADS, 2, 2, FF, dtype=nnrun.float64, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note that its nested-tensor fast path is off
        theirs = torch.nn.Transformer(D, HEADS, 2, 2, FF, dtype=torch.float64, **options)
    return ours, theirs


@pytest.mark.parametrize("options", [{}, {"batch_first": True, "norm_first": True}], ids=str)
def test_transformer_matches_torch(options):
    ours, theirs = _transformers(**options)
    _load_torch_weights(ours, theirs)
    batch_first = options.get("batch_first", False)
    masks = {
        "tgt_mask": _causal(T),
        "src_key_padding_mask": _padding(S),
        "memory_key_padding_mask": _padding(S),
        "tgt_key_padding_mask": _padding(T, additive=True),
    }
    _run_both(ours, theirs, [_seq(S, batch_first), _seq(T, batch_first)], masks)
    ours.zero_grad()
    theirs.zero_grad()
    _run_both(ours, theirs, [_seq(S, batch_first), _seq(T, batch_first)], {"tgt_mask": _causal(T)})


def test_reprs_and_state_dicts_as_torch():
    pairs = [
        _encoder_layers({}),
        _encoder_layers({"activation": "module", "norm_first": True}),
        (nn.TransformerDecoderLayer(D, HEADS, FF), torch.nn.TransformerDecoderLayer(D, HEADS, FF)),
        (
            nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, FF), 2, nn.LayerNorm(D)),
            torch.nn.TransformerEncoder(
                torch.nn.TransformerEncoderLayer(D, HEADS, FF),
                2,
                torch.nn.LayerNorm(D),
                enable_nested_tensor=False,
            ),
        ),
        (
            nn.TransformerDecoder(nn.TransformerDecoderLayer(D, HEADS, FF, bias=False), 3),
            torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, HEADS, FF, bias=False), 3),
        ),
        _transformers(),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
            (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
        ]


def test_default_transformer_layout_and_init():
    ours, theirs = _transformers()
    assert (ours.d_model, ours.nhead, ours.batch_first) == (theirs.d_model, theirs.nhead, theirs.batch_first)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    weight = ours.encoder.layers[0].linear1.weight.detach().numpy()
    bound = (6 / (D + FF)) ** 0.5
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound  # xavier, not kaiming


def test_stacks_hold_independent_copies():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    stack = nn.TransformerEncoder(layer, 3)
    assert len(stack.layers) == 3 and stack.num_layers == 3
    weights = [m.linear1.weight for m in stack.layers]
    assert all(w is not layer.linear1.weight for w in weights) and weights[0] is not weights[1]
    np.testing.assert_array_equal(weights[0].detach().numpy(), weights[2].detach().numpy())


def test_square_subsequent_mask_as_torch():
    ours = nn.Transformer.generate_square_subsequent_mask(5)
    theirs = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == nnrun.float32
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=nnrun.float64).dtype == nnrun.float64


def test_errors_as_torch():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        torch.nn.TransformerEncoderLayer(D, HEADS, activation="tanh")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(D, HEADS, activation="tanh")
    ours, theirs = _transformers()
    src, tgt = nnrun.randn(S, N, D, dtype=nnrun.float64), nnrun.randn(T, N + 1, D, dtype=nnrun.float64)
    with pytest.raises(RuntimeError, match="batch number"):
        theirs(torch.tensor(src.numpy()), torch.tensor(tgt.numpy()))
    with pytest.raises(RuntimeError, match="batch number"):
        ours(src, tgt)
    tgt = nnrun.randn(T, N, D + 2, dtype=nnrun.float64)
    with pytest.raises(RuntimeError, match="feature number"):
        theirs(torch.tensor(src.numpy()), torch.tensor(tgt.numpy()))
    with pytest.raises(RuntimeError, match="feature number"):
        ours(src, tgt)


def test_train_mode_uses_dropout():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.5)
    x = nnrun.randn(S, N, D)
    first, second = layer(x), layer(x)
    assert not np.allclose(first.detach().numpy(), second.detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


def test_layers_build_from_yaml():
    for name in ("MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "Transformer"):
        assert name in nn.LAYERS
    model = build_model(
        """
        module:
          TransformerEncoder:
            encoder_layer: {TransformerEncoderLayer: {d_model: 8, nhead: 2, dim_feedforward: 16,
                                                      activation: gelu, batch_first: true}}
            num_layers: 2
            norm: {LayerNorm: 8}
        """
    )
    assert isinstance(model, nn.TransformerEncoder) and len(model.layers) == 2
    assert model.layers[1].self_attn.batch_first and model.norm.normalized_shape == (8,)
    assert model(nnrun.randn(3, 5, 8)).shape == (3, 5, 8)


def test_to_yaml_refuses_python_built_transformer_layers():
    """Their constructor arguments are not attributes (as in torch), so they cannot be read back."""
    from nnrun.config import to_yaml

    with pytest.raises(TypeError, match="cannot read argument 'd_model' back"):
        to_yaml(nn.TransformerEncoderLayer(D, HEADS, FF))


def test_transformer_with_custom_encoder_and_decoder_matches_torch():
    def parts(lib, dtype):
        encoder = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(D, HEADS, FF, dtype=dtype), 1)
        decoder = lib.nn.TransformerDecoder(lib.nn.TransformerDecoderLayer(D, HEADS, FF, dtype=dtype), 1)
        return lib.nn.Transformer(D, HEADS, custom_encoder=encoder, custom_decoder=decoder, dtype=dtype)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note that its nested-tensor fast path is off
        theirs = parts(torch, torch.float64)
    ours = parts(nnrun, nnrun.float64)
    assert repr(ours) == repr(theirs)
    _load_torch_weights(ours, theirs)
    _run_both(ours, theirs, [_seq(S, False), _seq(T, False)], {"tgt_mask": _causal(T)})


def test_transformer_on_unbatched_sequences_matches_torch():
    ours, theirs = _transformers()
    _load_torch_weights(ours, theirs)
    src, tgt = _seq(S, False, batched=False), _seq(T, False, batched=False)
    _run_both(ours, theirs, [src, tgt], {"tgt_mask": _causal(T), "src_key_padding_mask": _padding(S, False)})
