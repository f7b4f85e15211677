"""``Function``: one differentiable operation, and (as ``ctx``) the graph node that remembers it.

A user's subclass (one defined outside the ``nnrun`` package) works as in torch: ``forward(ctx, *args)``
receives tensors (sharing the inputs' memory, needing no gradient) and returns a tensor or a tuple of them;
``backward(ctx, *grad_outputs)`` receives one gradient tensor per output and returns one gradient tensor (or
``None``) per ``forward`` argument; ``ctx.saved_tensors`` gives back the tensors saved.

nnrun's own ops skip the wrapping, for speed: their ``forward`` receives arrays (NumPy on ``cpu``, CuPy on
``cuda``; ``ctx.xp`` is that module) in place of tensors and returns an array or a tuple of arrays, and their
``backward`` receives and returns arrays.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor, type_name
from nnrun.autograd import views
from nnrun.autograd.grad_mode import _set as _set_grad_enabled
from nnrun.autograd.grad_mode import is_grad_enabled

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
    "if you need to access saved tensors after calling backward."
)


class Function:
    """Base class of differentiable operations; subclass it and call ``YourFunction.apply(...)``."""

    # Outputs alias the first input's memory, so they share its in-place version counter.
    is_view = False
    # A user's subclass (outside the nnrun package) sees tensors in forward and backward; nnrun's own ops,
    # arrays. Set per class by ``__init_subclass__``.
    _tensor_api = False
    # Multi-output backward gets zeros for outputs that received no gradient (``set_materialize_grads``).
    _materialize_grads = True

    # Per-node extras, set only on the few nodes that use them.
    _output_meta: tuple[tuple[Any, Any], ...] | None = None  # (shape, dtype) per output when several
    _pre_hooks: dict[int, list[Any]] | None = None  # tensor hooks by output index
    _retained: dict[int, Any] | None = None  # weakrefs of outputs that retain_grad(), by output index
    # Which ``forward`` arguments ``next_functions`` lists, in its order, where torch's schema fixes them
    # (a Python scalar or an absent optional tensor shows as ``(None, 0)``); by default every floating
    # tensor argument, as torch lists the differentiable inputs of an op.
    _edge_slots: tuple[int, ...] | None = None
    _node_hooks: list[Any] | None = None  # register_hook: fn(grad_inputs, grad_outputs) after backward
    _node_pre_hooks: list[Any] | None = None  # register_prehook: fn(grad_outputs) before it

    xp: ModuleType
    needs_input_grad: tuple[bool, ...]
    next_edges: tuple[Any, ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        module = cls.__module__
        if module == "nnrun" or module.startswith("nnrun."):
            return
        cls._tensor_api = True
        backward = cls.__dict__.get("backward")
        if backward is not None:  # wrap the user's backward so it sees and returns tensors
            cls._user_backward = staticmethod(getattr(backward, "__func__", backward))
            cls.backward = staticmethod(_backward_with_tensors)

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Function, *grad_outputs: Any) -> Any:
        raise NotImplementedError(f"the derivative of {type(ctx).__name__} is not implemented")

    # ----- what forward keeps for backward -----
    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED_MESSAGE)
        versions = self._saved_versions
        if versions is not None:
            for array, record in zip(saved, versions):
                if record is not None and record[0][0] != record[1]:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been modified by an "
                        f"inplace operation: [{type_name(array)} {list(array.shape)}], saved by "
                        f"{self.name()}, is at version {record[0][0]}; expected version {record[1]} instead. "
                        "Hint: compute on a clone, or move the inplace operation after backward."
                    )
        return saved

    def mark_non_differentiable(self, *arrays: Any) -> None:
        self._non_differentiable = {id(a._data if isinstance(a, Tensor) else a) for a in arrays}

    def set_materialize_grads(self, value: bool) -> None:
        """Whether a multi-output backward gets zeros (True, the default) or None for outputs that received
        no gradient."""
        self._materialize_grads = bool(value)

    def release(self) -> None:
        """Free what backward kept (called after backward unless the graph is retained)."""
        self._saved = None
        self._saved_versions = None

    # ----- introspection, as torch's grad_fn objects offer -----
    def name(self) -> str:
        if self._tensor_api:
            return f"{type(self).__name__}Backward"  # torch names a user's Function's node without the 0
        return f"{type(self).__name__}Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """One ``(node, input_nr)`` pair per differentiable input: ``(None, 0)`` where that input needs
        no gradient, an ``AccumulateGrad`` node (with ``.variable``) for a leaf."""
        edges = self.next_edges
        slots = self._edge_slots
        chosen = (e for e in edges if e is not False) if slots is None else (edges[i] for i in slots)
        pairs = []
        for edge in chosen:
            if edge is None or edge is False:
                pairs.append((None, 0))
            elif type(edge) is tuple:
                pairs.append(edge)
            else:
                pairs.append((AccumulateGrad(edge), 0))
        return tuple(pairs)

    def _input_positions(self) -> tuple[int, ...]:
        """The ``forward`` arguments that ``next_functions`` lists, in its order."""
        slots = self._edge_slots
        if slots is not None:
            return tuple(slots)
        return tuple(i for i, edge in enumerate(self.next_edges) if edge is not False)

    def register_hook(self, fn: Any) -> _NodeHookHandle:
        """Call ``fn(grad_inputs, grad_outputs)`` after this node's backward (tuples of tensors or None,
        ``grad_inputs`` in ``next_functions``' order); a returned tuple replaces ``grad_inputs``."""
        if self._node_hooks is None:
            self._node_hooks = []
        return _NodeHookHandle(self._node_hooks, fn)

    def register_prehook(self, fn: Any) -> _NodeHookHandle:
        """Call ``fn(grad_outputs)`` before this node's backward; a returned tuple replaces them."""
        if self._node_pre_hooks is None:
            self._node_pre_hooks = []
        return _NodeHookHandle(self._node_pre_hooks, fn)

    def __repr__(self) -> str:
        if self._tensor_api:
            return f"<nnrun.autograd.function.{self.name()} object at {id(self):#x}>"
        return f"<{self.name()} object at {id(self):#x}>"

    # ----- the one place graph edges are made -----
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls.__new__(cls)
        ctx._saved = ()
        ctx._saved_versions = None
        ctx._non_differentiable = None
        arrays = []
        needs = []
        first_array = None
        grad_on = is_grad_enabled()
        for arg in args:
            if isinstance(arg, Tensor):
                if arg._view_of is not None and grad_on:
                    views.refresh_if_stale(arg)
                data = arg._data
                if first_array is None:
                    first_array = data
                elif type(data) is not type(first_array) or (
                    type(data) is not np.ndarray and data.device != first_array.device
                ):
                    _raise_device_mismatch(first_array, data)
                arrays.append(data)
                needs.append(grad_on and arg._requires_grad)
            else:
                arrays.append(arg)
                needs.append(False)
        ctx.xp = np if first_array is None else _backend.array_module(first_array)
        ctx.needs_input_grad = needs = tuple(needs)
        if cls._tensor_api:
            out = _forward_with_tensors(cls, ctx, args, arrays, kwargs)
        else:
            out = cls.forward(ctx, *arrays, **kwargs)
        requires_grad = True in needs
        if type(out) is not tuple:
            requires_grad = requires_grad and out.dtype.kind == "f"  # integer/bool outputs get no gradient
            result = Tensor._make(out, True, ctx) if requires_grad else Tensor._make(out)
            outputs = (result,)
        else:
            skip = (ctx._non_differentiable or ()) if requires_grad else None
            outputs = result = tuple(
                Tensor._make(o)
                if skip is None or id(o) in skip or o.dtype.kind != "f"
                else Tensor._make(o, True, ctx, i)
                for i, o in enumerate(out)
            )
            ctx._output_meta = tuple((o.shape, o.dtype) for o in out)
        if cls._tensor_api:
            _share_returned_versions(ctx, outputs)
        if cls.is_view:
            _share_version_counter(args[0], outputs)
            views.record_views(cls, ctx.xp, args, outputs)
        if not requires_grad:
            return result
        ctx.next_edges = tuple(
            (arg if arg.grad_fn is None else (arg.grad_fn, arg._output_nr))
            if need
            # None: a floating tensor that needs no gradient; False: no differentiable input at all
            else None
            if isinstance(arg, Tensor) and arg._data.dtype.kind in "fc"
            else False
            for arg, need in zip(args, needs)
        )
        if ctx._saved:
            if cls._tensor_api:
                _record_saved_tensor_versions(ctx)
            else:
                _record_saved_versions(ctx, args, outputs)
        return result


class _NodeHookHandle:
    """What a node's ``register_hook``/``register_prehook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], fn: Any) -> None:
        hooks.append(fn)
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self) -> _NodeHookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


class AccumulateGrad:
    """Stand-in node for a leaf tensor in ``next_functions`` (leaves are stored directly in edges)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # torch's qualified name; the type prints as AccumulateGrad

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)


def _raise_device_mismatch(a: Any, b: Any) -> None:
    raise RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{_backend.device_of(a)} and {_backend.device_of(b)}!"
    )


def _share_version_counter(source: Any, outputs: tuple[Any, ...]) -> None:
    counter = source._version_counter()
    for out in outputs:
        if out._data.base is not None:
            out._vc = counter


def _record_saved_versions(ctx: Function, args: tuple[Any, ...], outputs: tuple[Any, ...]) -> None:
    """Remember the version of every saved array that belongs to an input or output tensor."""
    owners = [a for a in args if isinstance(a, Tensor)]
    owners.extend(outputs)
    records = []
    for array in ctx._saved:
        record = None
        for owner in owners:
            if owner._data is array:
                counter = owner._version_counter()
                record = (counter, counter[0])
                break
        records.append(record)
    ctx._saved_versions = records


# ----- a user's Function: tensors in and out of forward and backward -----
def _forward_with_tensors(
    cls: type[Function], ctx: Function, args: tuple[Any, ...], arrays: list[Any], kwargs: dict[str, Any]
) -> Any:
    """Run a user's ``forward`` on tensors sharing the inputs' memory (and version counters), with
    recording off as torch does; return the arrays of what it returned."""
    inputs = []
    for arg, array in zip(args, arrays):
        if isinstance(arg, Tensor):
            wrapped = Tensor._make(array)
            wrapped._vc = arg._version_counter()
            inputs.append(wrapped)
        else:
            inputs.append(arg)
    previous = is_grad_enabled()
    _set_grad_enabled(False)
    try:
        if "setup_context" in _class_attributes(cls):  # torch's newer style: forward without ctx
            returned = cls.forward(*inputs, **kwargs)
            cls.setup_context(ctx, tuple(inputs), returned)
        else:
            returned = cls.forward(ctx, *inputs, **kwargs)
    finally:
        _set_grad_enabled(previous)
    for i, item in enumerate(ctx._saved):
        if item is not None and not isinstance(item, Tensor):
            raise TypeError(
                "save_for_backward can only save variables, but argument "
                f"{i} is of type {type(item).__name__}"
            )
    if type(returned) is tuple:
        ctx._returned = returned
        return tuple(_unwrap(o) for o in returned)
    ctx._returned = (returned,)
    return _unwrap(returned)


def _class_attributes(cls: type[Function]) -> set[str]:
    """Names defined by ``cls`` and its bases below ``Function``."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Function:
            break
        names.update(klass.__dict__)
    return names


def _unwrap(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _share_returned_versions(ctx: Function, outputs: tuple[Any, ...]) -> None:
    """The tensors a user's ``forward`` returned and the outputs apply made of them share a version counter,
    so an in-place change of an output is seen by the saved tensor (and the other way round)."""
    for returned, output in zip(ctx._returned, outputs):
        if isinstance(returned, Tensor):
            output._vc = returned._version_counter()
    ctx._returned = None


def _record_saved_tensor_versions(ctx: Function) -> None:
    records = []
    for tensor in ctx._saved:
        if tensor is None:
            records.append(None)
        else:
            counter = tensor._version_counter()
            records.append((counter, counter[0]))
    ctx._saved_versions = records


def _backward_with_tensors(ctx: Function, *grad_outputs: Any) -> Any:
    """Call a user's ``backward`` with gradient tensors; return the arrays of the gradients it gives."""
    grads = tuple(None if g is None else Tensor._make(g) for g in grad_outputs)
    previous = is_grad_enabled()
    _set_grad_enabled(False)
    try:
        result = type(ctx)._user_backward(ctx, *grads)
    finally:
        _set_grad_enabled(previous)
    if type(result) is not tuple:
        result = (result,)
    expected = len(ctx.next_edges)
    if len(result) > expected and all(g is None for g in result[expected:]):
        result = result[:expected]  # torch lets backward return extra Nones
    unwrapped = []
    for g in result:
        if g is None:
            unwrapped.append(None)
        elif isinstance(g, Tensor):
            unwrapped.append(g._data)
        else:
            raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
    return tuple(unwrapped)
