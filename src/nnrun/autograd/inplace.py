"""In-place ops in autograd: write a result into the target's memory and rebase its history onto the new node.

A write bumps the memory's version counter; a node that saved the overwritten value keeps a private copy, and
a node that saved the written memory records the version after the write. An in-place op on a view also
rewrites its root's history (``CopySlices``), as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor, scalar_type_name
from nnrun.autograd import views
from nnrun.autograd.function import Function
from nnrun.autograd.grad_mode import is_grad_enabled


def apply_inplace(target: Tensor, function: type[Function], *args: Any) -> Tensor:
    """Run ``function`` on ``target`` and write the result into ``target``'s memory, recording it in autograd
    (the tensor's history is rebased onto the new node) when a gradient is needed."""
    recording = is_grad_enabled()
    if recording and target._requires_grad and target.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    view_of = target._view_of if recording else None
    if view_of is not None and view_of[0]._requires_grad and view_of[0].grad_fn is None:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    data = target._data
    result = function.apply(target, *args)
    node = result.grad_fn
    out = result._data
    if out is not data:
        if out.shape != data.shape:
            raise RuntimeError(
                f"output with shape {list(data.shape)} doesn't match the broadcast shape {list(out.shape)}"
            )
        if out.dtype != data.dtype and not np.can_cast(out.dtype, data.dtype, casting="same_kind"):
            raise RuntimeError(
                f"result type {scalar_type_name(out.dtype)} can't be cast to the desired output "
                f"type {scalar_type_name(data.dtype)}"
            )
        if node is not None and node._saved:
            _protect_saved(node, data)
        if not data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to a single "
                "memory location. Please clone() the tensor before performing the operation."
            )
        _backend.array_module(data).copyto(data, out, casting="unsafe")
    target._bump_version()
    if out is data and node is not None and node._saved_versions:
        _saved_after_write(node, data, target)
    if node is not None:
        retained = target.retains_grad
        if retained:  # retain_grad follows the tensor to its new value, as in torch
            del target.grad_fn._retained[target._output_nr]
        target.grad_fn = node
        target._output_nr = 0
        target._requires_grad = True
        if retained:
            target.retain_grad()
        if view_of is not None:  # the root changed too: its new value is its old one with the view replaced
            root, steps, _ = view_of
            target._view_of = (root, steps, target._vc[0])  # the view's own history is current
            root.grad_fn = CopySlices.apply(root, target, steps).grad_fn
            root._output_nr = 0
            root._requires_grad = True
    return target


class CopySlices(Function):
    """The base of a view after an in-place op on the view (the memory is already written)."""

    @staticmethod
    def forward(ctx, root, view, steps):
        ctx.steps = steps
        return root

    @staticmethod
    def backward(ctx, grad_out):
        # a C-contiguous copy, on which replaying the view ops always gives a writable view
        grad_base = ctx.xp.array(grad_out, copy=True, order="C")
        region = views.replay(ctx.steps, ctx.xp, grad_base)
        grad_view = region.copy()
        region[...] = 0  # the old values there were overwritten: no gradient flows to them
        return grad_base, grad_view, None


def _saved_after_write(node: Function, written: Any, target: Tensor) -> None:
    """The node wrote into ``target``'s memory and saved it: the saved value is the one after this write."""
    counter = target._version_counter()
    node._saved_versions = [
        (counter, counter[0]) if array is written and record is not None else record
        for array, record in zip(node._saved, node._saved_versions)
    ]


def _protect_saved(node: Function, overwritten: Any) -> None:
    """The node saved the value about to be overwritten: keep a private copy of it instead."""
    saved = list(node._saved)
    versions = node._saved_versions
    for i, array in enumerate(saved):
        if array is overwritten:
            saved[i] = array.copy()
            if versions is not None:
                versions[i] = None
    node._saved = tuple(saved)
