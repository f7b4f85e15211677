"""Autograd bookkeeping for views: tensors that alias part of another tensor's memory.

A view remembers its root (the tensor that owns the memory), the view ops that lead from the root to it, and
the version of the shared memory when its history was last right. An in-place op on a view rewrites the root's
history (``CopySlices``); a view used after its memory was changed through another alias gets its history
rebuilt from the root's current one, as PyTorch does.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

# One step from a base to a view: (view Function class, its extra forward arguments, output index or None).
ViewStep = tuple[type, tuple[Any, ...], "int | None"]


def record_views(cls: type, xp: ModuleType, args: tuple[Any, ...], outputs: tuple[Any, ...]) -> None:
    """Mark each output of the view op ``cls`` that aliases ``args[0]`` as a view of its root."""
    source = args[0]
    owner = source._data if source._data.base is None else source._data.base
    parent = source._view_of
    root, steps = (source, ()) if parent is None else parent[:2]
    for i, out in enumerate(outputs):
        base = out._data.base
        if base is None or (base is not owner and not xp.may_share_memory(out._data, source._data)):
            continue  # a copy, not a view
        step = (cls, args[1:], i if len(outputs) > 1 else None)
        out._view_of = (root, (*steps, step), out._version_counter()[0])


def replay(steps: tuple[ViewStep, ...], xp: ModuleType, array: Any) -> Any:
    """Apply the view ops ``steps`` to a root-shaped ``array`` (no autograd): the same view of ``array``."""
    for cls, extra, index in steps:
        scratch = cls.__new__(cls)
        scratch.xp = xp
        scratch._saved = ()
        array = cls.forward(scratch, array, *extra)
        if index is not None:
            array = array[index]
    return array


def refresh_if_stale(view: Any) -> None:
    """Rebuild ``view``'s history from its root's when their memory was changed through another alias."""
    root, steps, version = view._view_of
    current = view._version_counter()[0]
    if current == version:
        return
    if not root._requires_grad:  # no history to rebuild from
        view._view_of = (root, view._view_of[1], current)
        return
    rebuilt = root
    for cls, extra, index in steps:
        out = cls.apply(rebuilt, *extra)
        rebuilt = out if index is None else out[index]
    view.grad_fn = rebuilt.grad_fn
    view._output_nr = rebuilt._output_nr
    view._requires_grad = rebuilt._requires_grad
    view._view_of = (root, steps, current)
