"""The graph as torch prints it: ``grad_fn`` names and ``next_functions`` along a walk of the graph.

Each program is written once against the shared torch/nnrun API (``lib`` is ``torch`` or ``nnrun``); the
names met in a breadth-first walk over ``next_functions`` must be torch's, ``None`` included.
"""

import numpy as np
import pytest

import nnrun

torch = pytest.importorskip("torch")


def _walk(root):
    """(depth, name) of each node met breadth first; a node shared by two edges is listed each time."""
    met, seen, queue = [], set(), [(root, 0)]
    while queue:
        node, depth = queue.pop(0)
        met.append((depth, None if node is None else node.name()))
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        queue.extend((child, depth + 1) for child, _ in node.next_functions)
    return met


def _inputs(lib):
    lib.manual_seed(0)
    x = lib.randn(4, 3, requires_grad=True)
    w = lib.randn(3, 3, requires_grad=True)
    img = lib.randn(2, 3, 8, 8, requires_grad=True)
    return x, w, img


# Programs whose whole graph matches torch's, node for node.
SAME_GRAPH = {
    "select": lambda t, x, w, img: x[0],
    "slice": lambda t, x, w, img: x[1:3],
    "unsqueeze_index": lambda t, x, w, img: x[None],
    "ellipsis_select": lambda t, x, w, img: x[..., 1],
    "advanced_index": lambda t, x, w, img: x[t.tensor([0, 2])],
    "add": lambda t, x, w, img: x + w[0],
    "add_scalar": lambda t, x, w, img: x + 1,
    "rsub_scalar": lambda t, x, w, img: 1 - x,
    "sub": lambda t, x, w, img: x - w[0],
    "mul_scalar": lambda t, x, w, img: x * 2,
    "div": lambda t, x, w, img: x / w[0],
    "pow": lambda t, x, w, img: x**2,
    "pow_tensor": lambda t, x, w, img: x.abs() ** w[0],
    "exp_log": lambda t, x, w, img: x.exp().log(),
    "sum_mean": lambda t, x, w, img: x.sum(1).mean(),
    "activations": lambda t, x, w, img: t.tanh(t.sigmoid(t.relu(x))),
    "view_reshape": lambda t, x, w, img: x.view(12).reshape(2, 6),
    "flatten": lambda t, x, w, img: img.flatten(1),
    "squeeze_unsqueeze": lambda t, x, w, img: x.unsqueeze(0).squeeze().unsqueeze(1).squeeze(1),
    "transposes": lambda t, x, w, img: x.t().transpose(0, 1).T.mT,
    "permute": lambda t, x, w, img: img.permute(0, 2, 3, 1),
    "mm": lambda t, x, w, img: x @ w,
    "mv_dot": lambda t, x, w, img: (x @ w[0]) @ x[:, 0],
    "conv2d": lambda t, x, w, img: t.nn.Conv2d(3, 4, 3)(img),
    "conv2d_no_bias": lambda t, x, w, img: t.nn.Conv2d(3, 4, 3, bias=False)(img),
    "conv1d": lambda t, x, w, img: t.nn.Conv1d(3, 4, 3)(x.view(1, 3, 4)),
    "conv_transpose2d": lambda t, x, w, img: t.nn.ConvTranspose2d(3, 2, 3)(img),
    "max_pool2d": lambda t, x, w, img: t.nn.functional.max_pool2d(img, 2),
    "avg_pool2d": lambda t, x, w, img: t.nn.functional.avg_pool2d(img, 2),
    "adaptive_avg_pool2d": lambda t, x, w, img: t.nn.functional.adaptive_avg_pool2d(img, 2),
    "global_avg_pool": lambda t, x, w, img: t.nn.AdaptiveAvgPool2d(1)(img),
    "adaptive_max_pool2d": lambda t, x, w, img: t.nn.functional.adaptive_max_pool2d(img, 2),
    "batch_norm": lambda t, x, w, img: t.nn.BatchNorm2d(3)(img),
    "batch_norm_eval": lambda t, x, w, img: t.nn.BatchNorm1d(3).eval()(x),
    "layer_norm": lambda t, x, w, img: t.nn.LayerNorm(3)(x),
    "group_norm": lambda t, x, w, img: t.nn.GroupNorm(1, 3)(img),
    "dropout": lambda t, x, w, img: t.nn.functional.dropout(x, 0.5),
    "embedding": lambda t, x, w, img: t.nn.Embedding(5, 3)(t.tensor([1, 2])),
    "cat_stack": lambda t, x, w, img: t.stack([t.cat([x, w])[:3], w]),
    "where_scalar": lambda t, x, w, img: t.where(x > 0, x, 0.0),
    "softmax_log_softmax": lambda t, x, w, img: t.nn.functional.log_softmax(x.softmax(1), 0),
    "nll_loss": lambda t, x, w, img: t.nn.functional.nll_loss(
        t.nn.functional.log_softmax(x, 1), t.tensor([0, 1, 1, 0])
    ),
    "bce_with_logits": lambda t, x, w, img: t.nn.functional.binary_cross_entropy_with_logits(x, t.ones(4, 3)),
    "bce": lambda t, x, w, img: t.nn.functional.binary_cross_entropy(t.sigmoid(x), t.ones(4, 3)),
    "smooth_l1": lambda t, x, w, img: t.nn.functional.smooth_l1_loss(x, t.ones(4, 3)),
    "mse": lambda t, x, w, img: t.nn.functional.mse_loss(x, t.zeros(4, 3)),
    "max_amax_clamp": lambda t, x, w, img: x.clamp(0, 1).amax(1).max(),
    "max_dim": lambda t, x, w, img: x.max(1)[0],
    "expand_contiguous": lambda t, x, w, img: x[:, :1].expand(4, 3).contiguous(),
    "norm_var": lambda t, x, w, img: x.norm() + x.var(),
    "std": lambda t, x, w, img: x.std(1) + x.std(),
    "to_double": lambda t, x, w, img: x.double(),
    "chunk": lambda t, x, w, img: x.chunk(3, 1)[1],
    "constant_pad": lambda t, x, w, img: t.nn.functional.pad(x, (1, 1)),
    "reflect_replicate_pad": lambda t, x, w, img: t.nn.functional.pad(
        t.nn.functional.pad(img, (1, 1, 1, 1), mode="reflect"), (1, 1, 1, 1), mode="replicate"
    ),
    "upsample_nearest": lambda t, x, w, img: t.nn.functional.interpolate(img, scale_factor=2),
    "upsample_bilinear": lambda t, x, w, img: t.nn.functional.interpolate(
        img, scale_factor=2, mode="bilinear"
    ),
    "upsample_linear": lambda t, x, w, img: t.nn.functional.interpolate(
        x.view(1, 4, 3), size=5, mode="linear"
    ),
}

# Programs where nnrun fuses what torch splits (the README lists them). nnrun's node carries the name of
# torch's last step, and nnrun's graph is torch's with the fused-away steps (named here) spliced out.
FUSED = {
    # one basic-index node for torch's chain of slices and selects
    "slice_then_select": (lambda t, x, w, img: x[1:, 0], {"SliceBackward0"}),
    "select_then_slice": (lambda t, x, w, img: x[0, 1:], {"SelectBackward0"}),
    # reshape of a non-contiguous tensor: torch copies (CloneBackward0) then views
    "reshape_copy": (lambda t, x, w, img: x.t().reshape(12), {"CloneBackward0"}),
    "vector_matrix": (lambda t, x, w, img: w[0] @ w, None),
    "linear": (lambda t, x, w, img: t.nn.Linear(3, 2)(x), {"TBackward0"}),
    "linear_no_bias": (lambda t, x, w, img: t.nn.Linear(3, 2, bias=False)(x), {"TBackward0"}),
    "cross_entropy": (
        lambda t, x, w, img: t.nn.functional.cross_entropy(t.nn.Linear(3, 2)(x), t.tensor([0, 1, 1, 0])),
        {"TBackward0", "LogSoftmaxBackward0"},
    ),
    "cross_entropy_2d": (
        lambda t, x, w, img: t.nn.functional.cross_entropy(img, t.zeros(2, 8, 8, dtype=t.long)),
        {"LogSoftmaxBackward0"},
    ),
    "mse_of_linear": (
        lambda t, x, w, img: t.nn.functional.mse_loss(t.nn.Linear(3, 2)(x), t.zeros(4, 2)),
        {"TBackward0"},
    ),
    # torch folds the batch into rows, multiplies, and views back; only the last name is comparable
    "linear_3d": (lambda t, x, w, img: t.nn.Linear(3, 2)(x.view(2, 2, 3)), None),
    "linear_3d_no_bias": (lambda t, x, w, img: t.nn.Linear(3, 2, bias=False)(x.view(2, 2, 3)), None),
    "linear_1d": (lambda t, x, w, img: t.nn.Linear(3, 2)(x[0]), None),
    "matmul_3d": (lambda t, x, w, img: x.view(2, 2, 3) @ w, None),
    "matrix_batch_matmul": (lambda t, x, w, img: w @ x.view(2, 2, 3).transpose(1, 2), None),
}


def _spliced_walk(root, fused):
    """``_walk`` with each node named in ``fused`` replaced by its inputs."""

    def children(node):
        out = []
        for child, _ in node.next_functions:
            if child is not None and child.name() in fused:
                out.extend(grandchild for grandchild, _ in child.next_functions)
            else:
                out.append(child)
        return out

    met, seen, queue = [], set(), [(root, 0)]
    while queue:
        node, depth = queue.pop(0)
        met.append((depth, None if node is None else node.name()))
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        queue.extend((child, depth + 1) for child in children(node))
    return met


@pytest.mark.parametrize("name", sorted(SAME_GRAPH))
def test_graph_names_match_torch(name):
    program = SAME_GRAPH[name]
    expected = _walk(program(torch, *_inputs(torch)).grad_fn)
    assert _walk(program(nnrun, *_inputs(nnrun)).grad_fn) == expected


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_nodes_carry_torch_last_name(name):
    program, fused = FUSED[name]
    torch_root = program(torch, *_inputs(torch)).grad_fn
    nnrun_root = program(nnrun, *_inputs(nnrun)).grad_fn
    assert nnrun_root.name() == torch_root.name()
    if fused is not None:
        assert _walk(nnrun_root) == _spliced_walk(torch_root, fused)


def _sequence(lib, dtype, batch_first=False):
    lib.manual_seed(0)
    shape = (2, 5, 3) if batch_first else (5, 2, 3)
    return lib.randn(*shape, dtype=getattr(lib, dtype), requires_grad=True)


def _layer_outputs(lib, mode, dtype, batch_first=False, unbatched=False, **options):
    layer = getattr(lib.nn, mode)(3, 4, batch_first=batch_first, **options).to(getattr(lib, dtype))
    x = _sequence(lib, dtype, batch_first)
    output, state = layer(x[:, 0] if unbatched else x)
    return (output, *(state if isinstance(state, tuple) else (state,)))


def _packed_outputs(lib, mode, dtype, **options):
    layer = getattr(lib.nn, mode)(3, 4, **options).to(getattr(lib, dtype))
    packed = lib.nn.utils.rnn.pack_padded_sequence(_sequence(lib, dtype), [5, 3])
    output, state = layer(packed)
    return (output.data, *(state if isinstance(state, tuple) else (state,)))


def _cell_outputs(lib, mode, dtype, **options):
    cell = getattr(lib.nn, mode + "Cell")(3, 4, **options).to(getattr(lib, dtype))
    out = cell(_sequence(lib, dtype)[0])
    return out if isinstance(out, tuple) else (out,)


# Recurrent layers and cells: each layer and direction is one nnrun node (ops/recurrent.py), named as torch's
# CPU build names the step that makes that output (the README lists the differences).
RECURRENT = {
    f"{mode}_{dtype}_{variant}": (lambda lib, mode=mode, dtype=dtype, run=run: run(lib, mode, dtype))
    for mode in ("LSTM", "GRU", "RNN")
    for dtype in ("float32", "float64")
    for variant, run in {
        "one_layer": _layer_outputs,
        "two_layers": lambda lib, m, d: _layer_outputs(lib, m, d, num_layers=2, dropout=0.5),
        "bidirectional": lambda lib, m, d: _layer_outputs(lib, m, d, bidirectional=True, num_layers=2),
        "batch_first": lambda lib, m, d: _layer_outputs(lib, m, d, batch_first=True),
        "unbatched": lambda lib, m, d: _layer_outputs(lib, m, d, unbatched=True),
        "no_bias": lambda lib, m, d: _layer_outputs(lib, m, d, bias=False),
        "packed": _packed_outputs,
        "packed_bidirectional": lambda lib, m, d: _packed_outputs(lib, m, d, bidirectional=True),
        "cell": _cell_outputs,
    }.items()
}
RECURRENT["LSTM_float32_projection"] = lambda lib: _layer_outputs(lib, "LSTM", "float32", proj_size=2)
RECURRENT["RNN_float32_relu"] = lambda lib: _layer_outputs(lib, "RNN", "float32", nonlinearity="relu")
RECURRENT["RNN_float32_relu_cell"] = lambda lib: _cell_outputs(lib, "RNN", "float32", nonlinearity="relu")
# LSTMCell's h and c come from one node here, named after h (torch: h MulBackward0, c AddBackward0)
RECURRENT_ONE_NODE = {"LSTM_float32_cell": 1, "LSTM_float64_cell": 1}


def _first_child_name(node):
    child = node.next_functions[0][0]
    return None if child is None else child.name()


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_nodes_carry_torch_cpu_names(name):
    ours, theirs = RECURRENT[name](nnrun), RECURRENT[name](torch)
    compared = len(ours) - RECURRENT_ONE_NODE.get(name, 0)
    assert [t.grad_fn.name() for t in ours[:compared]] == [t.grad_fn.name() for t in theirs[:compared]]
    if "batch_first" in name or "unbatched" in name:  # the transpose or squeeze, then the layer's output
        assert _first_child_name(ours[0].grad_fn) == _first_child_name(theirs[0].grad_fn)
    if name in RECURRENT_ONE_NODE:
        assert ours[1].grad_fn is ours[0].grad_fn and theirs[1].grad_fn.name() == "AddBackward0"


def test_next_functions_shape_as_torch():
    x = nnrun.randn(3, requires_grad=True)
    y = nnrun.randn(3)
    node = (x * y).grad_fn
    (leaf, leaf_nr), (none, none_nr) = node.next_functions
    assert type(leaf).__name__ == "AccumulateGrad" and leaf.variable is x and leaf_nr == 0
    assert none is None and none_nr == 0
    assert leaf.next_functions == ()
    assert repr(node).startswith("<MulBackward0 object at 0x")
    assert repr(leaf).startswith("<AccumulateGrad object at 0x")


def test_tutorial_walk():
    """The autograd tutorial's walk: loss -> MseLoss -> Addmm -> AccumulateGrad."""
    model = nnrun.nn.Linear(3, 2)
    loss = nnrun.nn.MSELoss()(model(nnrun.randn(4, 3)), nnrun.zeros(4, 2))
    assert loss.grad_fn.name() == "MseLossBackward0"
    addmm = loss.grad_fn.next_functions[0][0]
    assert addmm.name() == "AddmmBackward0"
    bias, _ = addmm.next_functions[0]
    weight, _ = addmm.next_functions[2]
    assert bias.variable is model.bias and weight.variable is model.weight
    assert addmm.next_functions[1] == (None, 0)  # the input needs no gradient
    loss.backward()
    assert model.weight.grad is not None


def test_non_tensor_arguments_leave_no_edge_and_backward_still_runs():
    x = nnrun.randn(2, 3, requires_grad=True)
    out = nnrun.nn.functional.pad(x, (1, 1), value=0.5).sum(dim=1, keepdim=True)
    assert [n.name() for n, _ in out.grad_fn.next_functions] == ["ConstantPadNdBackward0"]
    out.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]


# ----- hooks on nodes -----
def _hooked_run(lib, replace):
    lib.manual_seed(0)
    x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([[0.3, 0.1], [-0.2, 0.4]], dtype=lib.float64, requires_grad=True)
    y = lib.nn.functional.conv2d(x[None, None], w[None, None], padding=1)
    seen = []

    def values(g):
        return None if g is None else np.round(g.detach().numpy(), 10).tolist()

    def after(grad_inputs, grad_outputs):
        seen.append(("after", [values(g) for g in grad_inputs], values(grad_outputs[0])))
        if replace:
            return (grad_inputs[0] * 2, grad_inputs[1], None)
        return None

    def before(grad_outputs):
        seen.append(("before", values(grad_outputs[0])))
        return (grad_outputs[0] * 3,) if replace else None

    y.grad_fn.register_hook(after)
    y.grad_fn.register_prehook(before)
    (y * lib.arange(9.0, dtype=lib.float64).reshape(1, 1, 3, 3)).sum().backward()
    return seen, values(x.grad), values(w.grad)


@pytest.mark.parametrize("replace", [False, True])
def test_node_hooks_see_and_replace_what_torch_does(replace):
    assert _hooked_run(nnrun, replace) == _hooked_run(torch, replace)


def test_node_hook_handle_removes_and_wrong_counts_are_refused():
    x = nnrun.ones(3, requires_grad=True)
    y = x * 2
    calls = []
    handle = y.grad_fn.register_hook(lambda gi, go: calls.append(1))
    handle.remove()
    y.sum().backward()
    assert calls == []
    z = x * 2
    z.grad_fn.register_hook(lambda gi, go: (gi[0],))
    with pytest.raises(
        RuntimeError,
        match=r"hook '<lambda>' has returned an incorrect number of values \(got 1, but expected 2\)",
    ):
        z.sum().backward()


def test_std_of_a_constant_has_a_zero_gradient_as_torch():
    for lib in (nnrun, torch):
        x = lib.ones(3, 2, requires_grad=True)
        (x.std() + x.std(0).sum()).backward()
        assert x.grad.tolist() == [[0.0, 0.0]] * 3
