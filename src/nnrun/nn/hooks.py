"""Hook plumbing for ``Module``: removable handles, and full backward hooks built from identity nodes."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nnrun._tensor import Tensor, array_of
from nnrun.autograd.function import Function
from nnrun.autograd.grad_mode import is_grad_enabled

_next_id = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*_hook``; ``remove()`` (or leaving a ``with`` block) unregisters it."""

    def __init__(self, hooks_dict: OrderedDict[int, Any], *extra_dicts: dict[int, Any] | set[int]) -> None:
        self.id = next(_next_id)
        self.hooks_dict = hooks_dict
        self.extra_dicts = extra_dicts

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)
        for extra in self.extra_dicts:
            if isinstance(extra, set):
                extra.discard(self.id)
            else:
                extra.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def add_hook(
    hooks: OrderedDict[int, Any], hook: Callable[..., Any], prepend: bool, *extra_dicts: Any
) -> RemovableHandle:
    """Store ``hook`` in ``hooks`` (first when ``prepend``) and return its handle."""
    handle = RemovableHandle(hooks, *extra_dicts)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class _HookIdentity(Function):
    """Passes tensors through unchanged; in backward hands their gradients to ``on_grads``, which may
    replace them. Placed around a module's inputs and outputs, it sees d(loss)/d(input) and d(loss)/d(output).
    """

    @staticmethod
    def forward(ctx, on_grads, *arrays):
        ctx.on_grads = on_grads
        return arrays

    @staticmethod
    def backward(ctx, *grad_outs):
        grads = ctx.on_grads(grad_outs)
        # views, so that a gradient reaching a leaf is copied into .grad rather than shared with the
        # tensor a hook was shown (which the hook may keep)
        return (None, *(None if g is None else g.view() for g in grads))


def _wrap(tensors: list[Any], on_grads: Callable[[tuple[Any, ...]], Any]) -> tuple[list[Any], list[int]]:
    """Route the tensors that require grad through one ``_HookIdentity``; return the new list and their
    positions."""
    positions = [i for i, t in enumerate(tensors) if isinstance(t, Tensor) and t.requires_grad]
    if not positions or not is_grad_enabled():
        return tensors, []
    wrapped = _HookIdentity.apply(on_grads, *(tensors[i] for i in positions))
    tensors = list(tensors)
    for i, t in zip(positions, wrapped):
        tensors[i] = t
    return tensors, positions


def _spread(grads: tuple[Any, ...], positions: list[int], count: int) -> tuple[Tensor | None, ...]:
    """Gradients (arrays) of the wrapped positions as a full tuple of tensors, None elsewhere."""
    full: list[Tensor | None] = [None] * count
    for i, g in zip(positions, grads):
        full[i] = None if g is None else Tensor._make(g)
    return tuple(full)


class BackwardHook:
    """One module call's full backward hooks: ``hook(module, grad_input, grad_output)`` and pre-hooks
    ``hook(module, grad_output)``; either may return replacement gradients."""

    def __init__(self, module: Any, hooks: list[Callable[..., Any]], pre_hooks: list[Callable[..., Any]]):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs: tuple[Tensor | None, ...] | None = None
        self.n_inputs = 0
        self.input_positions: list[int] = []

    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        new_args, self.input_positions = _wrap(list(args), self._on_input_grads)
        return tuple(new_args)

    def setup_output_hook(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, (tuple, list)):
            return result
        outputs = [result] if single else list(result)
        self.n_outputs = len(outputs)
        new_outputs, self.output_positions = _wrap(outputs, self._on_output_grads)
        if single:
            return new_outputs[0]
        return type(result)(new_outputs) if isinstance(result, list) else tuple(new_outputs)

    def _on_output_grads(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        grad_outputs = _spread(grads, self.output_positions, self.n_outputs)
        for hook in self.pre_hooks:
            replaced = hook(self.module, grad_outputs)
            if replaced is not None:
                grad_outputs = _checked(replaced, len(grad_outputs), "grad_output")
        self.grad_outputs = grad_outputs
        if not self.input_positions:
            # nothing upstream needs a gradient: the hooks fire now, with grad_input all None
            for hook in self.hooks:
                hook(self.module, (None,) * self.n_inputs, grad_outputs)
        return tuple(array_of(grad_outputs[i]) for i in self.output_positions)

    def _on_input_grads(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        grad_inputs = _spread(grads, self.input_positions, self.n_inputs)
        grad_outputs = self.grad_outputs if self.grad_outputs is not None else ()
        for hook in self.hooks:
            replaced = hook(self.module, grad_inputs, grad_outputs)
            if replaced is not None:
                grad_inputs = _checked(replaced, len(grad_inputs), "grad_input")
        return tuple(array_of(grad_inputs[i]) for i in self.input_positions)


def _checked(replaced: Any, expected: int, what: str) -> tuple[Any, ...]:
    if isinstance(replaced, Tensor):
        replaced = (replaced,)
    if not isinstance(replaced, (tuple, list)) or len(replaced) != expected:
        got = len(replaced) if isinstance(replaced, (tuple, list)) else type(replaced).__name__
        raise RuntimeError(
            f"Backward hook returned an invalid number of {what}, got {got}, but expected {expected}"
        )
    return tuple(replaced)


def call_with_hooks(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``module(*args, **kwargs)`` through its forward pre-hooks, forward hooks and full backward hooks."""
    for hook_id, hook in list(module._forward_pre_hooks.items()):
        if hook_id in module._forward_pre_hooks_with_kwargs:
            replaced = hook(module, args, kwargs)
            if replaced is not None:
                if not (isinstance(replaced, tuple) and len(replaced) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{replaced}."
                    )
                args, kwargs = replaced
        else:
            replaced = hook(module, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
    backward_hook = None
    if module._backward_hooks or module._backward_pre_hooks:
        backward_hook = BackwardHook(
            module, list(module._backward_hooks.values()), list(module._backward_pre_hooks.values())
        )
        args = backward_hook.setup_input_hook(args)
    try:
        result = module.forward(*args, **kwargs)
    except Exception:
        for hook_id, hook in list(module._forward_hooks.items()):
            if hook_id in module._forward_hooks_always_called:
                _run_forward_hook(module, hook_id, hook, args, kwargs, None)
        raise
    for hook_id, hook in list(module._forward_hooks.items()):
        replaced = _run_forward_hook(module, hook_id, hook, args, kwargs, result)
        if replaced is not None:
            result = replaced
    if backward_hook is not None:
        result = backward_hook.setup_output_hook(result)
    return result


def _run_forward_hook(
    module: Any, hook_id: int, hook: Callable[..., Any], args: Any, kwargs: Any, result: Any
) -> Any:
    if hook_id in module._forward_hooks_with_kwargs:
        return hook(module, args, kwargs, result)
    return hook(module, args, result)
