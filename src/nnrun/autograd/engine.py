"""Reverse-mode execution: an iterative topological walk from the outputs back to the leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nnrun import _backend
from nnrun._size import Size
from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    inputs: Any = None,
) -> None:
    """Accumulate d(tensors)/d(leaf) into ``.grad`` of every leaf (or only of ``inputs``) that needs it."""
    roots = _as_tuple(tensors)
    root_grads = _root_gradients(roots, _as_tuple(grad_tensors) if grad_tensors is not None else None)
    targets = _as_tuple(inputs) if inputs is not None else None
    leaf_grads, node_grads = _execute(
        roots, root_grads, bool(retain_graph), targets, capture=targets is not None
    )
    for position, grad in node_grads.items():  # non-leaf ``inputs`` accumulate into their .grad, as in torch
        _accumulate_into(targets[position], grad, exclusive=False)
    taken: set[int] = set()
    for leaf, grad in leaf_grads.values():
        # A fresh array nobody else holds becomes .grad as is; anything possibly shared is copied.
        exclusive = (
            not retain_graph
            and grad.base is None
            and id(grad) not in taken
            and not any(grad is r for r in root_grads)
        )
        taken.add(id(grad))
        _accumulate_into(leaf, grad, exclusive)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Return d(outputs)/d(inputs) without touching any ``.grad``."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by nnrun yet")
    roots = _as_tuple(outputs)
    targets = _as_tuple(inputs)
    for t in targets:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    root_grads = _root_gradients(roots, _as_tuple(grad_outputs) if grad_outputs is not None else None)
    leaf_grads, node_grads = _execute(roots, root_grads, bool(retain_graph), targets, capture=True)
    results = []
    for i, t in enumerate(targets):
        found = leaf_grads.get(id(t)) if t.grad_fn is None else node_grads.get(i)
        if found is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            results.append(None)
        else:
            results.append(Tensor._make(found if t.grad_fn is not None else found[1]))
    return tuple(results)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _root_gradients(roots: Sequence[Any], given: Sequence[Any] | None) -> list[Any]:
    if given is not None and len(given) != len(roots):
        raise RuntimeError(f"got {len(given)} gradients for {len(roots)} outputs; they must match")
    grads = []
    for i, root in enumerate(roots):
        if not isinstance(root, Tensor):
            raise TypeError(f"backward expects tensors, got {type(root).__name__}")
        if not root._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        supplied = None if given is None else given[i]
        if supplied is None:
            if root._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            xp = _backend.array_module(root._data)
            grads.append(xp.ones_like(root._data))
            continue
        array = array_of(supplied)
        if tuple(array.shape) != tuple(root.shape):
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {Size(array.shape)} and output[{i}] "
                f"has a shape of {Size(root.shape)}."
            )
        grads.append(array)
    return grads


def _execute(
    roots: Sequence[Any],
    root_grads: list[Any],
    retain_graph: bool,
    targets: Sequence[Any] | None,
    capture: bool,
) -> tuple[dict[int, list[Any]], dict[int, Any]]:
    """Run every backward reachable from ``roots``.

    Returns the summed gradient of each reached leaf (``id(leaf) -> [leaf, grad]``) and, for ``capture``,
    the gradient of each non-leaf target by its position in ``targets``.
    """
    leaf_filter = None if targets is None else {id(t) for t in targets if t.grad_fn is None}
    node_targets: dict[tuple[int, int], int] = {}
    if capture and targets is not None:
        for i, t in enumerate(targets):
            if t.grad_fn is not None:
                node_targets[(id(t.grad_fn), t._output_nr)] = i
    leaf_grads: dict[int, list[Any]] = {}
    node_grads: dict[int, Any] = {}
    buffers: dict[Function, list[Any]] = {}
    starts: list[Function] = []
    for root, grad in zip(roots, root_grads):
        node = root.grad_fn
        if node is None:
            _add_leaf_grad(leaf_grads, leaf_filter, root, grad)
            continue
        buffer = buffers.get(node)
        if buffer is None:
            buffer = buffers[node] = _empty_buffer(node)
            starts.append(node)
        previous = buffer[root._output_nr]
        buffer[root._output_nr] = grad if previous is None else previous + grad

    dependencies = _count_dependencies(starts)
    ready = [node for node in starts if node not in dependencies]
    while ready:
        node = ready.pop()
        grads = buffers.pop(node)
        if all(g is None for g in grads):  # every gradient into this node was None: pass "none" on
            _pass_on_no_gradient(node, buffers, dependencies, ready)
            continue
        if node._pre_hooks is not None:
            _run_tensor_hooks(node._pre_hooks, grads)
        if node._node_pre_hooks is not None:
            _run_node_pre_hooks(node, grads)
        if node._retained is not None:
            _store_retained(node, grads)
        if node_targets:
            for nr, g in enumerate(grads):
                position = node_targets.get((id(node), nr))
                if position is not None and g is not None:
                    node_grads[position] = g
        if len(grads) == 1:
            grads_in = node.backward(node, grads[0])
        else:
            grads_in = node.backward(node, *_materialize(node, grads))
        if not retain_graph:
            node.release()
        if type(grads_in) is not tuple:
            grads_in = (grads_in,)
        if node._node_hooks is not None:
            grads_in = _run_node_hooks(node, grads_in, grads)
        edges = node.next_edges
        if len(grads_in) != len(edges):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(edges)}, got {len(grads_in)})"
            )
        for edge, g in zip(edges, grads_in):
            if edge is None or edge is False:  # False: an argument that is no differentiable input
                continue
            if type(edge) is not tuple:
                if g is not None:
                    _add_leaf_grad(leaf_grads, leaf_filter, edge, g, node)
                continue
            next_node, nr = edge
            buffer = buffers.get(next_node)
            if buffer is None:
                buffer = buffers[next_node] = _empty_buffer(next_node)
            if g is not None:
                previous = buffer[nr]
                buffer[nr] = g if previous is None else previous + g
            # a None gradient still counts as the edge's arrival, or the next node would never run
            remaining = dependencies[next_node] - 1
            dependencies[next_node] = remaining
            if remaining == 0:
                ready.append(next_node)
    return leaf_grads, node_grads


def _pass_on_no_gradient(
    node: Function, buffers: dict[Function, list[Any]], dependencies: dict[Function, int], ready: list[Any]
) -> None:
    """Skip a node that received no gradient, counting its outgoing edges as arrived."""
    for edge in node.next_edges:
        if type(edge) is not tuple:
            continue
        next_node = edge[0]
        if next_node not in buffers:
            buffers[next_node] = _empty_buffer(next_node)
        dependencies[next_node] -= 1
        if dependencies[next_node] == 0:
            ready.append(next_node)


def _empty_buffer(node: Function) -> list[Any]:
    meta = node._output_meta
    return [None] if meta is None else [None] * len(meta)


def _count_dependencies(starts: list[Function]) -> dict[Function, int]:
    """How many edges lead into each node reachable from ``starts`` (iterative, no recursion)."""
    dependencies: dict[Function, int] = {}
    seen = set(starts)
    stack = list(starts)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if type(edge) is tuple:
                next_node = edge[0]
                dependencies[next_node] = dependencies.get(next_node, 0) + 1
                if next_node not in seen:
                    seen.add(next_node)
                    stack.append(next_node)
    return dependencies


def _materialize(node: Function, grads: list[Any]) -> list[Any]:
    """Zeros for outputs that received no gradient, so multi-output backwards see arrays only."""
    if not node._materialize_grads:
        return grads
    xp = node.xp
    return [xp.zeros(shape, dtype) if g is None else g for g, (shape, dtype) in zip(grads, node._output_meta)]


def _add_leaf_grad(
    leaf_grads: dict[int, list[Any]], leaf_filter: set[int] | None, leaf: Any, grad: Any, node: Any = None
) -> None:
    key = id(leaf)
    if leaf_filter is not None and key not in leaf_filter:
        return
    if grad.shape != leaf._data.shape:
        source = node.name() if node is not None else "backward"
        raise RuntimeError(
            f"Function {source} returned an invalid gradient - got shape {list(grad.shape)} but expected "
            f"shape compatible with {list(leaf._data.shape)}"
        )
    entry = leaf_grads.get(key)
    if entry is None:
        leaf_grads[key] = [leaf, grad]
    else:
        entry[1] = entry[1] + grad


def _accumulate_into(leaf: Any, grad: Any, exclusive: bool) -> None:
    """Add ``grad`` into ``leaf.grad``; a new ``.grad`` never shares memory with anything else."""
    for hook in leaf._hooks or ():
        replaced = hook(Tensor._make(grad))
        if replaced is not None:
            grad = replaced._data
    existing = leaf._grad
    if existing is not None:
        existing._data += grad
        return
    leaf._grad = Tensor._make(grad if exclusive else grad.copy())


def _run_tensor_hooks(hooks: dict[int, list[Any]], grads: list[Any]) -> None:
    for nr, fns in hooks.items():
        for fn in fns:
            if grads[nr] is None:
                continue
            replaced = fn(Tensor._make(grads[nr]))
            if replaced is not None:
                grads[nr] = replaced._data


def _as_tensors(arrays: Any) -> tuple[Any, ...]:
    return tuple(None if a is None else Tensor._make(a) for a in arrays)


def _run_node_pre_hooks(node: Function, grads: list[Any]) -> None:
    """``fn(grad_outputs)`` of each ``register_prehook``; a returned tuple replaces the gradients."""
    for fn in list(node._node_pre_hooks):
        replaced = fn(_as_tensors(grads))
        if replaced is not None:
            _check_hook_result(fn, replaced, len(grads))
            grads[:] = [None if g is None else array_of(g) for g in replaced]


def _run_node_hooks(node: Function, grads_in: tuple[Any, ...], grads_out: list[Any]) -> tuple[Any, ...]:
    """``fn(grad_inputs, grad_outputs)`` of each ``register_hook``, ``grad_inputs`` one per entry of
    ``next_functions``; a returned tuple replaces them."""
    positions = node._input_positions()
    for fn in list(node._node_hooks):
        replaced = fn(_as_tensors(grads_in[i] for i in positions), _as_tensors(grads_out))
        if replaced is not None:
            _check_hook_result(fn, replaced, len(positions))
            updated = list(grads_in)
            for i, g in zip(positions, replaced, strict=True):
                updated[i] = None if g is None else array_of(g)
            grads_in = tuple(updated)
    return grads_in


def _check_hook_result(fn: Any, replaced: Any, expected: int) -> None:
    if len(replaced) != expected:
        raise RuntimeError(
            f"hook '{getattr(fn, '__name__', fn)}' has returned an incorrect number of values "
            f"(got {len(replaced)}, but expected {expected})"
        )


def _store_retained(node: Function, grads: list[Any]) -> None:
    for nr, ref in node._retained.items():
        tensor = ref()
        if tensor is None or grads[nr] is None:
            continue
        if tensor._grad is None:
            tensor._grad = Tensor._make(grads[nr].copy())
        else:
            tensor._grad._data += grads[nr]
