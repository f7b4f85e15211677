"""``gradcheck``: compare autograd's Jacobian with central finite differences (use float64 inputs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun import _backend
from nnrun._tensor import Tensor
from nnrun.autograd.engine import grad
from nnrun.autograd.grad_mode import no_grad


class GradcheckError(RuntimeError):
    """Analytical and numerical Jacobians disagree."""


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences.

    Every floating output is checked against every input that requires grad. Returns True, or raises
    ``GradcheckError`` naming the output, the input and the largest difference (False without raising
    when ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype.name != "float64":
            raise ValueError(
                f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 inputs"
            )
    outputs = _float_outputs(func(*inputs))
    for out_index, output in enumerate(outputs):
        analytical = _analytical_jacobians(output, [inputs[i] for i in checked])
        for position, input_index in enumerate(checked):
            numerical = _numerical_jacobian(func, inputs, input_index, out_index, eps)
            if not np.allclose(analytical[position], numerical, rtol=rtol, atol=atol):
                worst = float(np.max(np.abs(analytical[position] - numerical)))
                message = (
                    f"Jacobian mismatch for output {out_index} with respect to input {input_index}: largest "
                    f"difference {worst:.3e}.\nnumerical:\n{numerical}\nanalytical:\n{analytical[position]}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def _float_outputs(result: Any) -> list[Any]:
    outputs = result if isinstance(result, (tuple, list)) else (result,)
    return [o for o in outputs if isinstance(o, Tensor) and o.is_floating_point()]


def _analytical_jacobians(output: Any, inputs: list[Any]) -> list[np.ndarray]:
    """One (output size, input size) matrix per input, a row per output element via backward."""
    size = output.numel()
    jacobians = [np.zeros((size, x.numel())) for x in inputs]
    if not output.requires_grad:
        return jacobians
    xp = _backend.array_module(output._data)
    for k in range(size):
        seed = xp.zeros(output.numel(), dtype=output._data.dtype)
        seed[k] = 1
        grads = grad(
            output,
            inputs,
            Tensor._make(seed.reshape(output.shape)),
            retain_graph=True,
            allow_unused=True,
        )
        for jacobian, g in zip(jacobians, grads):
            if g is not None:
                jacobian[k] = _backend.transfer(g._data, _backend.CPU).reshape(-1)
    return jacobians


def _numerical_jacobian(
    func: Callable[..., Any], inputs: tuple[Any, ...], index: int, out: int, eps: float
) -> Any:
    """Central differences, perturbing one element of ``inputs[index]`` at a time in place."""
    data = inputs[index]._data
    columns = []
    with no_grad():
        for position in np.ndindex(*data.shape):
            original = data[position].item()
            data[position] = original + eps
            plus = _backend.transfer(_float_outputs(func(*inputs))[out]._data, _backend.CPU).astype(
                np.float64
            )
            data[position] = original - eps
            minus = _backend.transfer(_float_outputs(func(*inputs))[out]._data, _backend.CPU).astype(
                np.float64
            )
            data[position] = original
            columns.append(((plus - minus) / (2 * eps)).reshape(-1))
    if not columns:
        return np.zeros((_float_outputs(func(*inputs))[out].numel(), 0))
    return np.stack(columns, axis=1)
