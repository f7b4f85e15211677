"""Attention on ``cuda`` (the CuPy stand-in): the fused attention op, MultiheadAttention and a Transformer
compute what the CPU computes, forward and backward, and move nothing between host and device."""

import contextlib

import numpy as np
import pytest

import nnrun
from nnrun import nn
from nnrun.nn import functional as F


def _masks(device):
    causal = nn.Transformer.generate_square_subsequent_mask(5, device=device)
    padding = nnrun.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2]), device=device)
    return causal, padding


def _sdpa(device, fake=None):
    rng = np.random.default_rng(0)
    q, k, v = (
        nnrun.tensor(rng.standard_normal((2, 4, 5, 3)).astype(np.float32), device=device, requires_grad=True)
        for _ in range(3)
    )
    keep = nnrun.tensor(rng.random((5, 5)) > 0.3, device=device)
    with fake.during() if fake else contextlib.nullcontext([]) as moved:
        outs = [
            F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=0.7),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            F.scaled_dot_product_attention(q, k[:, :2], v[:, :2], enable_gqa=True),
        ]
        sum(out.sum() for out in outs).backward()
    return [*outs, q.grad, k.grad, v.grad], moved


def _transformer(device, fake=None, need_weights=True):
    nnrun.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True).to(device)
    attention = nn.MultiheadAttention(8, 2, kdim=6, vdim=4, add_bias_kv=True).to(device)
    rng = np.random.default_rng(1)
    src, tgt = (
        nnrun.tensor(rng.standard_normal((2, 5, 8)).astype(np.float32), device=device, requires_grad=True)
        for _ in range(2)
    )
    key = nnrun.tensor(rng.standard_normal((5, 2, 6)).astype(np.float32), device=device)
    value = nnrun.tensor(rng.standard_normal((5, 2, 4)).astype(np.float32), device=device)
    causal, padding = _masks(device)
    with fake.during() if fake else contextlib.nullcontext([]) as moved:
        out = model(src, tgt, tgt_mask=causal, src_key_padding_mask=padding, tgt_is_causal=True)
        attended, weights = attention(
            tgt.transpose(0, 1), key, value, key_padding_mask=padding, need_weights=need_weights
        )
        loss = out.sum() + attended.sum() + (weights.sum() if weights is not None else 0)
        loss.backward()
    grads = [src.grad, tgt.grad] + [p.grad for p in [*model.parameters(), *attention.parameters()]]
    return [out, attended, *grads], moved


def _compare(on_device, on_cpu):
    for got, want in zip(on_device, on_cpu, strict=True):
        assert got.device == nnrun.device("cuda", 0)
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_fused_attention_matches_the_cpu_and_moves_nothing(fake_cuda):
    on_device, moved = _sdpa("cuda", fake_cuda)
    assert moved == []
    _compare(on_device, _sdpa("cpu")[0])


@pytest.mark.parametrize("need_weights", [True, False])
def test_transformer_and_attention_match_the_cpu_and_move_nothing(fake_cuda, need_weights):
    on_device, moved = _transformer("cuda", fake_cuda, need_weights)
    assert moved == [], f"host<->device transfers: {moved}"
    _compare(on_device, _transformer("cpu", need_weights=need_weights)[0])


def test_attention_dropout_draws_its_mask_on_the_device(fake_cuda):
    q = nnrun.ones(2, 3, 4, device="cuda", requires_grad=True)
    with fake_cuda.during() as moved:
        out = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
        out.sum().backward()
    assert moved == [] and out.device == nnrun.device("cuda", 0)
