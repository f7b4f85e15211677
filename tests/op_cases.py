"""Op compositions written once against the API nnrun shares with torch: ``CASES[name] = (fn, arrays)``,
where ``fn(lib, *tensors)`` takes the ``nnrun`` or ``torch`` module. Float inputs get gradients; integer and
bool inputs are index or mask data. Used by the torch parity tests and by the device tests (nnrun on the CPU
against nnrun on ``cuda``)."""

import numpy as np


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def positive(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape).astype(np.float32)


def ints(values):
    return np.asarray(values, dtype=np.int64)


# ----- in-place compositions (statements need a def) -----
def _inplace_chain(lib, a, b):
    y = a * 1.0
    y.add_(b)
    y.mul_(2.0)
    y.sub_(b, alpha=0.5)
    y += a
    y.div_(b.abs() + 1.0)
    y.pow_(2)
    return y.relu_()


def _inplace_setitem(lib, a, b):
    y = a.clone()
    y[0] = b[1] * 3.0
    y[:, 1:3] = 0.5
    return y.tanh()


def _inplace_masked(lib, a, b):
    y = a.exp()
    z = y * 1.0
    z.masked_fill_(b > 0, -1.0)
    z.clamp_(min=-0.5, max=2.0)
    return z * y


def _inplace_copy_fill(lib, a, b):
    y = a + 0.0
    y.copy_(b * 2.0)
    z = a * 3.0
    z.fill_(1.5)
    w = a.sin()
    w.neg_()
    return y + z + w


def _inplace_view_of_nonleaf(lib, a, b):
    y = a * 2.0
    y[:, 0].mul_(b[:, 0])
    return y.sum(dim=0)


def _inplace_through_views(lib, a, b):
    y = a * 1.0
    y[1].add_(b[0])
    y.t()[2].mul_(b[1, :3])
    y[:, 1:3].clamp_(-0.5, 0.5)
    return y.exp()


def _split_pieces(lib, a):
    x, y, z = a.split([1, 2, 3], dim=1)
    return x * 2.0, y.exp(), z.sum(dim=1)


def _chunk_pieces(lib, a):
    return tuple(c * (i + 1.0) for i, c in enumerate(a.chunk(3, dim=0)))


def _layer_norm(lib, a, w):
    mean = a.mean(dim=-1, keepdim=True)
    var = a.var(dim=-1, keepdim=True, unbiased=False)
    return (a - mean) / (var + 1e-5).sqrt() * w


def _softmax(lib, a):
    shifted = a - a.amax(dim=1, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=1, keepdim=True)


def _max_dim(lib, a):
    values, indices = a.max(dim=1)
    return values, indices


def _min_dim_keep(lib, a):
    values, indices = a.min(dim=0, keepdim=True)
    return values * 2.0, indices


# name -> (fn, input arrays)
CASES = {
    "matmul_relu_sum_lse": (
        lambda lib, a, b: (a @ b.t()).relu().sum(dim=1).logsumexp(0),
        (randn(4, 5), randn(3, 5, seed=1)),
    ),
    "broadcast_arith": (
        lambda lib, a, b, c: (a + b) * c - a / (c.abs() + 1.0),
        (randn(3, 1, 4), randn(5, 1, seed=1), randn(4, seed=2)),
    ),
    "broadcast_scalar_tensor": (
        lambda lib, a, b: (a - b) ** 2 / (b * b + 1.0) + 2.0 * a - 1.0 / (a.abs() + 1.0),
        (randn(2, 3), randn(seed=1)),
    ),
    "true_divide": (
        lambda lib, a, b: lib.true_divide(a, b.abs() + 0.5) + a.true_divide(3.0),
        (randn(3, 4), randn(4, seed=1)),
    ),
    "rsub_rdiv_rpow": (
        lambda lib, a: 3.0 - a + 2.0 / (a * a + 1.0) + 2.0**a,
        (randn(6),),
    ),
    "unary_chain": (
        lambda lib, a: a.exp().log1p().sqrt().tanh().sigmoid(),
        (randn(3, 4),),
    ),
    "trig_rsqrt_abs": (
        lambda lib, a: a.sin() * a.cos() + (a.abs() + 0.1).rsqrt() - lib.neg(a).abs(),
        (randn(3, 4),),
    ),
    "module_functions": (
        lambda lib, a: lib.tanh(lib.exp(a) * lib.sigmoid(a)) + lib.log(lib.relu(a) + 1.0),
        (randn(5),),
    ),
    "sum_dims_keepdim": (
        lambda lib, a: a.sum(dim=(0, 2), keepdim=True) * a + a.sum(-1).mean(),
        (randn(2, 3, 4),),
    ),
    "mean_prod": (
        lambda lib, a: a.mean(dim=1) + a.prod(dim=1) + a.prod(),
        (randn(3, 4),),
    ),
    "layer_norm": (_layer_norm, (randn(4, 6), randn(6, seed=1))),
    "instance_norm": (
        lambda lib, a, w, b: lib.nn.functional.instance_norm(a, weight=w, bias=b, eps=1e-3),
        (randn(2, 3, 4, 5), positive(3, seed=1), randn(3, seed=2)),
    ),
    "interpolate_modes": (
        lambda lib, a, b: (
            lib.nn.functional.interpolate(a, scale_factor=2),
            lib.nn.functional.interpolate(a, size=(5, 7), mode="bilinear"),
            lib.nn.functional.interpolate(a, scale_factor=1.5, mode="bilinear", align_corners=True),
            lib.nn.functional.interpolate(b, size=9, mode="linear"),
        ),
        (randn(2, 3, 4, 5), randn(2, 3, 4, seed=1)),
    ),
    "var_std_correction": (
        lambda lib, a: (
            a.var(dim=1, correction=0),
            a.std(dim=0, correction=2),
            a.var(),
            a.std(unbiased=False),
            a.var(dim=(0, 1), keepdim=True),
        ),
        (randn(5, 4),),
    ),
    "norms": (
        lambda lib, a: (
            a.norm(),
            a.norm(p=1, dim=1),
            a.norm(dim=0, keepdim=True),
            a.norm(p=3, dim=1),
        ),
        (randn(3, 4),),
    ),
    "max_dim_indices": (_max_dim, (randn(4, 5),)),
    "min_dim_keepdim": (_min_dim_keep, (randn(4, 5),)),
    "max_min_ties": (
        lambda lib, a: (a.max(), a.min(), a.amax(dim=1), a.amin(dim=0)),
        (np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 3.0]], dtype=np.float32),),
    ),
    "maximum_minimum": (
        lambda lib, a, b: lib.maximum(a, b) * 2.0 + lib.minimum(a, b),
        (randn(3, 4), randn(4, seed=1)),
    ),
    "softmax": (_softmax, (randn(3, 5),)),
    "logsumexp_multi_dim": (
        lambda lib, a: a.logsumexp(dim=(0, 2)) + a.logsumexp(1, keepdim=True).sum(),
        (randn(2, 3, 4),),
    ),
    "view_reshape_permute": (
        lambda lib, a: a.view(2, 6).t().reshape(3, 4).permute(1, 0).flatten() * 2.0,
        (randn(3, 4),),
    ),
    "pad_modes_pixel_shuffle": (
        lambda lib, a: (
            lib.nn.functional.pad(a, (1, 2, -1, 1), value=0.5),
            lib.nn.functional.pad(a, (2, 1, 1, 2), "reflect"),
            lib.nn.functional.pad(a, (3, 0, 1, 1), "replicate"),
            lib.nn.functional.pad(a, (1, -1, 2, 1), "circular"),
            lib.nn.functional.pixel_unshuffle(lib.nn.functional.pixel_shuffle(a, 2).exp(), 2),
        ),
        (randn(2, 4, 3, 4),),
    ),
    "unsqueeze_expand_transpose": (
        lambda lib, a: a.squeeze(1).unsqueeze(1).expand(3, 4, 5).transpose(0, 2).unsqueeze(0).squeeze().sin(),
        (randn(3, 1, 5),),
    ),
    "flip_roll_repeat_narrow": (
        lambda lib, a: (
            a.flip(0),
            a.roll(1, dims=1),
            a.repeat(2, 1),
            a.narrow(1, 1, 2),
            a.unflatten(1, (2, 2)),
            a.T.contiguous().view(-1),
        ),
        (randn(3, 4),),
    ),
    "cat_stack": (
        lambda lib, a, b: (lib.cat([a, b * 2.0, a], dim=1), lib.stack([a, b], dim=-1), lib.stack([a, a])),
        (randn(3, 2), randn(3, 2, seed=1)),
    ),
    "split_sections": (_split_pieces, (randn(2, 6),)),
    "split_size": (lambda lib, a: a.split(2, dim=0), (randn(5, 3),)),
    "chunk": (_chunk_pieces, (randn(7, 2),)),
    "matmul_vectors": (
        lambda lib, a, m: (a @ a, m @ a, a @ m.t(), lib.matmul(m, m.t())),
        (randn(4), randn(3, 4, seed=1)),
    ),
    "matmul_batched_broadcast": (
        lambda lib, a, b, c: (a @ b, a @ c, lib.bmm(a, b), lib.mm(a[0], c)),
        (randn(2, 3, 4), randn(2, 4, 5, seed=1), randn(4, 5, seed=2)),
    ),
    "matmul_4d_broadcast": (
        lambda lib, a, b: a @ b,
        (randn(2, 1, 3, 4), randn(5, 4, 2, seed=1)),
    ),
    "baddbmm": (
        lambda lib, x, a, b: (lib.baddbmm(x, a, b), x[0].baddbmm(a, b, beta=0.5, alpha=-2.0)),
        (randn(2, 3, 5), randn(2, 3, 4, seed=1), randn(2, 4, 5, seed=2)),
    ),
    "einsum": (
        lambda lib, a, b, c: (
            lib.einsum("ij,jk->ik", a, b),
            lib.einsum("bij,bjk->bik", c, c.transpose(1, 2)),
            lib.einsum("i,j->ij", a[0], b[0]),
            lib.einsum("ij->", a),
            lib.einsum("ij->j", a),
            lib.einsum("bij->bji", c),
        ),
        (randn(3, 4), randn(4, 5, seed=1), randn(2, 3, 4, seed=2)),
    ),
    "einsum_attention": (
        lambda lib, q, k: lib.einsum("bhqd,bhkd->bhqk", q, k).tanh(),
        (randn(2, 2, 3, 4), randn(2, 2, 5, 4, seed=1)),
    ),
    "advanced_index_repeated": (
        lambda lib, a: (a[[0, 2, 0, 0]], a[:, [1, 1, 3]], a[[0, 1, 1], [2, 2, 2]], a[a > 0.3]),
        (randn(3, 4),),
    ),
    "advanced_index_tensor": (
        lambda lib, a, idx: a[idx] * 2.0 + a[idx].exp(),
        (randn(4, 3), ints([3, 0, 3, 3, 1])),
    ),
    "basic_slicing": (
        lambda lib, a: (a[1:, ::2], a[..., None, 1], a[-1], a[0, 1:3]),
        (randn(3, 4, 5),),
    ),
    "gather": (
        lambda lib, a, idx: a.gather(1, idx).exp(),
        (randn(3, 4), ints([[0, 0, 3], [1, 2, 1], [3, 3, 3]])),
    ),
    "scatter": (
        lambda lib, a, idx, src: (lib.scatter(a, 1, idx, src), a.scatter(0, idx[1:, :1], 0.5)),
        (randn(3, 4), ints([[0, 2], [1, 3], [2, 0]]), randn(3, 2, seed=1)),
    ),
    "index_select_repeated": (
        lambda lib, a, idx: (a.index_select(0, idx), lib.index_select(a, 1, idx)),
        (randn(4, 4), ints([2, 2, 0, 3, 2])),
    ),
    "masked_fill_where": (
        lambda lib, a, b: (
            a.masked_fill(a > 0.5, 0.0),
            lib.where(a > 0, a, b * 2.0),
            lib.where(b > 0, a, 1.0),
            a.where(a < b, b),
        ),
        (randn(3, 4), randn(4, seed=1)),
    ),
    "clamp_boundaries": (
        lambda lib, a: (a.clamp(-0.5, 0.5), a.clamp(min=0.0), a.clamp(max=0.2), lib.clamp(a, -1.0, 0.0)),
        (np.array([-1.0, -0.5, -0.1, 0.0, 0.2, 0.5, 1.0], dtype=np.float32),),
    ),
    "pow_variants": (
        lambda lib, a, b: (a**2, a.abs() ** 1.5, lib.pow(a, 3), (a.abs() + 0.5) ** b, a.pow(0.0)),
        (randn(3, 4), randn(4, seed=1)),
    ),
    "inplace_chain": (_inplace_chain, (randn(3, 4), randn(4, seed=1))),
    "inplace_setitem": (_inplace_setitem, (randn(3, 4), randn(3, 4, seed=1))),
    "inplace_masked_clamp": (_inplace_masked, (randn(3, 4), randn(3, 4, seed=1))),
    "inplace_copy_fill_neg": (_inplace_copy_fill, (randn(3, 4), randn(4, seed=1))),
    "inplace_view_of_nonleaf": (_inplace_view_of_nonleaf, (randn(3, 4), randn(3, 4, seed=1))),
    "inplace_through_views": (_inplace_through_views, (randn(3, 4), randn(2, 4, seed=1))),
    "fan_out_reuse": (
        lambda lib, a: a * a.exp() + a.sum() * a - (a @ a.t()).mean(),
        (randn(3, 3),),
    ),
    "sort_topk_argsort": (
        lambda lib, a: (
            *a.sort(),
            *lib.sort(a, dim=0, descending=True),
            *a.topk(2),
            *lib.topk(a, 2, dim=0, largest=False),
            a.argsort(dim=1, descending=True),
            lib.argsort(a, dim=0),
        ),
        (randn(4, 5),),
    ),
    "tril_triu_diag": (
        lambda lib, a, v: (
            a.tril(),
            lib.tril(a, diagonal=-1),
            a.triu(1),
            lib.triu(a, diagonal=-2),
            lib.diag(a[0]),
            lib.diag(a[0], 1),
            a[0].diag(-2),
            lib.diag(a[0].reshape(3, 4)),
            lib.diag(a[0].reshape(3, 4), diagonal=2) * v[:2],
        ),
        (randn(2, 3, 4), randn(3, seed=1)),
    ),
    "cumsum": (
        lambda lib, a, i: (a.cumsum(0), lib.cumsum(a, dim=-1), a.cumsum(1, dtype=lib.float64), i.cumsum(0)),
        (randn(3, 4), ints([1, 2, 3])),
    ),
    "integer_outputs": (
        lambda lib, a: (a.argmax(dim=1), a.argmin(), (a > 0).sum(), a.sum(dim=0) > 0),
        (randn(3, 4),),
    ),
    "scatter_reduce_index_add": (
        lambda lib, a, s, i: (
            a.scatter_add(0, i, s),
            *(a.scatter_reduce(0, i, s, r, include_self=False) for r in ("mean", "amax", "amin")),
            a.index_add(1, i[0, :3], a[:, 1:] * 2.0, alpha=0.5),
            a.index_copy(0, i[0, :2] * 0 + lib.arange(2, device=i.device), s),
            a.take_along_dim(i, 0),
        ),
        (randn(3, 4), randn(2, 4, seed=1), ints([[0, 2, 0, 1], [2, 2, 1, 0]])),
    ),
    "rearrange_windows": (
        lambda lib, a, r: (
            a.unfold(1, 2, 1),
            a.repeat_interleave(r, dim=0, output_size=3),
            a.movedim(0, 1).diagonal(1),
            lib.diag_embed(a),
            *lib.meshgrid(a[0], a[1], indexing="xy"),
            lib.combinations(a[0]),
            lib.block_diag(a, a[0]),
        ),
        (randn(3, 4), ints([1, 0, 2])),
    ),
    "products_linalg": (
        lambda lib, a, b: (
            lib.addmm(b[0], a, b, beta=0.5),
            lib.kron(a, b),
            lib.linalg.solve(a[:, :3] + 3 * lib.eye(3, device=a.device), a[:, 0]),
            lib.linalg.det(a[:, :3]),
            lib.linalg.matrix_norm(a, "nuc"),
            lib.linalg.cholesky(a @ a.mT + lib.eye(3, device=a.device)),
        ),
        (randn(3, 4), randn(4, 2, seed=1)),
    ),
}
