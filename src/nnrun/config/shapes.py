"""Shape inference and checking: ``auto`` arguments and a dry run on a batch of one.

A layer with ``auto`` arguments is built as a :class:`PendingLayer`; the dry run passes
``zeros(1, *input_shape)`` through the model (eval mode, no grad) and each pending layer, on seeing its
input, fills in its ``auto`` arguments (``in_features`` ← last dimension, ``in_channels``/``num_features`` ←
dimension 1, …) and builds the real layer in its place. Every module's input is checked against its
declared width first, so a mismatch reads
``model.features.3 (Linear): expected input [*, 400], got [*, 256]``.
"""

from __future__ import annotations

from typing import Any

from nnrun import _creation
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.config.errors import Issues, Mark, describe_exception
from nnrun.config.signature import AUTO_DIMS, ArgSchema, validate_arguments
from nnrun.nn import Module

#: Attributes that declare the size a module expects along one input dimension.
_EXPECTED = (("in_features", -1), ("in_channels", 1), ("num_features", 1), ("num_channels", 1))


class ShapeMismatch(Exception):
    """A module received an input of the wrong size."""


class PendingLayer(Module):
    """Stands in for a layer whose ``auto`` arguments are known only once its input is seen."""

    def __init__(self, schema: ArgSchema, kwargs: dict[str, Any], auto: frozenset[str]) -> None:
        super().__init__()
        self._schema, self._kwargs, self._auto = schema, kwargs, auto
        self.resolved: Module | None = None

    def forward(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        if self.resolved is None:
            values = dict(self._kwargs)
            for name in self._auto:
                values[name] = infer(name, input)
            checked, messages = validate_arguments(self._schema, values)
            if messages:
                raise ShapeMismatch("; ".join(messages.values()))
            self.resolved = self._schema.cls(**checked)
            self.resolved.train(self.training)
        return self.resolved(input, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"{self._schema.title}, auto: {', '.join(sorted(self._auto))}"


def infer(name: str, input: Any) -> Any:
    """The value of ``auto`` argument ``name`` for ``input``."""
    if not isinstance(input, Tensor):
        raise ShapeMismatch(f"cannot infer '{name}': the input is a {type(input).__name__}, not a Tensor")
    dim = AUTO_DIMS[name]
    if input.dim() <= (dim if dim >= 0 else -dim - 1):
        raise ShapeMismatch(f"cannot infer '{name}' from an input of shape {list(input.shape)}")
    size = int(input.shape[dim])
    return [size] if name == "normalized_shape" else size


def check_input(module: Module, args: tuple[Any, ...]) -> None:
    """Raise :class:`ShapeMismatch` if ``module``'s first input has the wrong size for its declared width."""
    if not args or not isinstance(args[0], Tensor):
        return
    if getattr(module, "cls_to_become", None) is not None:
        return  # a lazy layer takes its width from this input
    x = args[0]
    for attr, dim in _EXPECTED:
        want = module.__dict__.get(attr)
        if type(want) is not int or x.dim() <= (dim if dim >= 0 else -dim - 1):
            continue
        got = int(x.shape[dim])
        if got != want:
            raise ShapeMismatch(
                f"expected input {_pattern(x.dim(), dim, want)}, got {_pattern(x.dim(), dim, got)}"
            )


def _pattern(ndim: int, dim: int, size: int) -> str:
    if dim < 0:
        return f"[*, {size}]"
    parts = ["*"] * ndim
    parts[dim] = str(size)
    return "[" + ", ".join(parts) + "]"


def dry_run(
    model: Module, input_shape: tuple[int, ...], origins: dict[int, tuple[str, Mark]], issues: Issues
) -> Module:
    """Run ``zeros(1, *input_shape)`` through ``model``; report the first failure; build pending layers.

    Returns the model with every :class:`PendingLayer` replaced by its real layer."""
    stack: list[tuple[str, Module]] = []
    handles = []

    def leave(mod: Module, args: tuple, output: Any) -> None:
        stack.pop()  # an exception skips this, leaving the failing module on top

    for name, module in model.named_modules():

        def enter(mod: Module, args: tuple, name: str = name) -> None:
            stack.append((name, mod))
            if not isinstance(mod, PendingLayer):
                check_input(mod, args)

        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    model.eval()
    try:
        with no_grad():
            model(_creation.zeros((1, *input_shape)))
    except Exception as exc:
        name, module = stack[-1] if stack else ("", model)
        _report(name, module, exc, origins, issues)
    finally:
        for handle in handles:
            handle.remove()
        model.train()
    return replace_pending(model, origins, issues)


def _report(name: str, module: Module, exc: Exception, origins: dict, issues: Issues) -> None:
    kind = module._schema.title if isinstance(module, PendingLayer) else type(module).__name__
    label = "model" + (f".{name}" if name else "")
    message = str(exc) if isinstance(exc, ShapeMismatch) else describe_exception(exc)
    _, mark = origins.get(id(module), ("", None))
    issues.add(f"{label} ({kind})", message, mark)


def replace_pending(model: Module, origins: dict[int, tuple[str, Mark]], issues: Issues) -> Module:
    """Swap each resolved :class:`PendingLayer` for its layer; report those the dry run never reached."""
    for parent_name, parent in list(model.named_modules()):
        for key, child in list(parent._modules.items()):
            if isinstance(child, PendingLayer):
                parent._modules[key] = _resolved(child, f"{parent_name}.{key}".lstrip("."), origins, issues)
    if isinstance(model, PendingLayer):
        return _resolved(model, "", origins, issues)
    return model


def _resolved(pending: PendingLayer, name: str, origins: dict, issues: Issues) -> Module:
    if pending.resolved is not None:
        origins[id(pending.resolved)] = origins.get(id(pending), ("", None))
        return pending.resolved
    _, mark = origins.get(id(pending), ("", None))
    label = "model" + (f".{name}" if name else "")
    issues.add(
        f"{label} ({pending._schema.title})", "auto arguments: the dry run never called this layer", mark
    )
    return pending
