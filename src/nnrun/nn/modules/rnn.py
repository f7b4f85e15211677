"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (whole sequences) and ``RNNCell``, ``LSTMCell``, ``GRUCell``
(one step). Each layer and direction runs as one node (``ops/recurrent.py``), named as torch's CPU build names
the step that makes its output."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from nnrun import _creation, _dtype
from nnrun._tensor import Tensor
from nnrun.nn import functional as F
from nnrun.nn import init
from nnrun.nn.module import Module
from nnrun.nn.parameter import Parameter
from nnrun.nn.utils.rnn import PackedSequence
from nnrun.ops import indexing as _indexing
from nnrun.ops import shape as _shape
from nnrun.ops.recurrent import GATES, recurrence

# torch's CPU build: the name of the node of a cell's new state (LSTMCell: h = o * tanh(c); c prints
# AddBackward0 there, here the one node's name)
_CELL_NODES = {
    "RNN_TANH": "TanhBackward0",
    "RNN_RELU": "ReluBackward0",
    "LSTM": "MulBackward0",
    "GRU": "AddBackward0",
}


def _check_sizes(input_size: Any, hidden_size: Any) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")


class RNNBase(Module):
    """The shared body of ``RNN``, ``LSTM`` and ``GRU``.

    Input ``(T, B, input_size)`` (``(B, T, input_size)`` with ``batch_first``), ``(T, input_size)`` unbatched,
    or a ``PackedSequence``. Per layer ``k`` and direction (suffix ``_reverse``): ``weight_ih_l{k}``
    ``(G*hidden_size, in)``, ``weight_hh_l{k}`` ``(G*hidden_size, H_out)``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` ``(G*hidden_size,)``, and with ``proj_size`` ``weight_hr_l{k}``
    ``(proj_size, hidden_size)``; ``G`` is 1, 4 or 3 gates, ``H_out`` is ``proj_size or hidden_size``, and
    every parameter starts as U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.
    """

    mode: str
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    proj_size: int

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if mode not in GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        _check_sizes(input_size, hidden_size)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element being "
                "zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for name, shape in shapes:
                    setattr(
                        self, name + suffix, Parameter(_creation.empty(shape, device=device, dtype=dtype))
                    )
                    names.append(name + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing: the weights are used where they are (PyTorch packs them for cuDNN here)."""

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction: ``[[weight_ih_l0, weight_hh_l0, ...], ...]``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ----- forward -----
    def _check_hidden(self, hx: Tensor, expected: tuple[int, ...], name: str) -> None:
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {name} size {expected}, got {list(hx.shape)}")

    def _prepare_hidden(self, hx: Any, batched: bool) -> list[Tensor] | None:
        """The initial states as ``(layers * directions, B, size)`` tensors (None for zeros), after the
        unbatched/batched checks and reshapes PyTorch makes."""
        if hx is None:
            return None
        lstm = self.mode == "LSTM"
        states = list(hx) if lstm else [hx]
        if not all(isinstance(s, Tensor) for s in states) or (lstm and len(states) != 2):
            kind = "a tuple (h_0, c_0) of tensors" if lstm else "a tensor"
            raise TypeError(f"{type(self).__name__}: hx should be {kind}, got {type(hx).__name__}")
        want = 3 if batched else 2
        if any(s.ndim != want for s in states):
            dims = ", ".join(f"{s.ndim}-D" for s in states)
            kind, state = ("batched 3-D", "3-D") if batched else ("unbatched 2-D", "2-D")
            if lstm:
                raise RuntimeError(
                    f"For {kind} input, hx and cx should also be {state} but got ({dims}) tensors"
                )
            raise RuntimeError(f"For {kind} input, hx should also be {state} but got {dims} tensor")
        if not batched:
            states = [s.unsqueeze(1) for s in states]
        return states

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        """``(output, h_n)``, for LSTM ``(output, (h_n, c_n))``: output ``(T, B, D*H_out)`` (as the input's
        layout, or a ``PackedSequence``), final states ``(num_layers*D, B, H_out)`` (``c_n``:
        ``hidden_size``)."""
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        batched = True
        if packed:
            data = input.data
            batch_sizes = tuple(int(b) for b in input.batch_sizes.tolist())
            states = self._prepare_hidden(hx, True)
            if states is not None and input.sorted_indices is not None:
                states = [_indexing.index_select(s, 1, input.sorted_indices) for s in states]
        else:
            if input.ndim not in (2, 3):
                tensor = "" if self.mode == "LSTM" or self.mode == "GRU" else " tensor"
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D{tensor} instead")
            batched = input.ndim == 3
            states = self._prepare_hidden(hx, batched)
            data = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                data = data.transpose(0, 1)
            batch_sizes = (data.shape[1],) * data.shape[0]
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {data.shape[-1]}"
            )
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({data.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({data.dtype})"
            )
        output, finals = self._run(data, states, batch_sizes)
        if packed:
            output = PackedSequence(output, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                finals = [_indexing.index_select(s, 1, input.unsorted_indices) for s in finals]
        elif not batched:
            output = output.squeeze(1)
            finals = [s.squeeze(1) for s in finals]
        elif self.batch_first:
            # torch transposes LSTM's output out of place, GRU's and RNN's in place (transpose_)
            output = _shape.Permute.apply(
                output, (1, 0, 2), node="TransposeBackward0" if self.mode == "LSTM" else "TransposeBackward1"
            )
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _run(
        self, data: Tensor, states: list[Tensor] | None, batch_sizes: tuple[int, ...]
    ) -> tuple[Any, Any]:
        directions = 2 if self.bidirectional else 1
        batch = batch_sizes[0] if batch_sizes else 0
        lstm = self.mode == "LSTM"
        if states is not None:
            expected = [(self.num_layers * directions, batch, self.proj_size or self.hidden_size)]
            if lstm:
                expected.append((self.num_layers * directions, batch, self.hidden_size))
            for k, (state, shape) in enumerate(zip(states, expected)):
                self._check_hidden(state, shape, f"hidden[{k}]" if lstm else "hidden")
        final_h, final_c = [], []
        if len(data.shape) == 2:  # a packed sequence: torch concatenates the steps' outputs
            node = "CatBackward0"
        elif lstm and not self.proj_size and data.dtype == _dtype.float32:
            node = "MkldnnRnnLayerBackward0"  # torch's CPU build runs a float32 LSTM layer as one oneDNN node
        else:
            node = "StackBackward0"
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                h0 = None if states is None else states[0][index]
                c0 = None if states is None or not lstm else states[1][index]
                result = recurrence(
                    layer_input, h0, c0, self.all_weights[index], self.mode, batch_sizes, direction == 1, node
                )
                outputs.append(result[0])
                final_h.append(result[1])
                if lstm:
                    final_c.append(result[2])
            layer_input = outputs[0] if directions == 1 else _shape.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        finals = [_shape.stack(final_h, 0)]
        if lstm:
            finals.append(_shape.stack(final_c, 0))
        return layer_input, finals


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ``relu``)."""

    nonlinearity: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        proj_size: int = 0,  # refused, as PyTorch refuses it for RNN
    ) -> None:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(
            modes[nonlinearity],
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; ``proj_size > 0`` projects each ``h_t`` to ``proj_size`` with ``weight_hr``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        proj_size: int = 0,  # refused, as PyTorch refuses it for GRU
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class RNNCellBase(Module):
    """One step of a recurrent layer: input ``(B, input_size)`` or ``(input_size,)``, state(s)
    ``(B, hidden_size)``; ``weight_ih`` ``(G*hidden_size, input_size)``, ``weight_hh``
    ``(G*hidden_size, hidden_size)``, ``bias_ih``/``bias_hh`` ``(G*hidden_size,)``, all
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    input_size: int
    hidden_size: int
    bias: bool
    weight_ih: Parameter
    weight_hh: Parameter
    bias_ih: Parameter | None
    bias_hh: Parameter | None

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate_size = num_chunks * hidden_size
        self.weight_ih = Parameter(_creation.empty((gate_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(_creation.empty((gate_size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_creation.empty(gate_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(_creation.empty(gate_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _step(self, input: Tensor, hx: Any, mode: str) -> tuple[Tensor, ...]:
        """Check the shapes as PyTorch does and run one step; returns the new state(s), batched."""
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.ndim}D instead"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}"
            )
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        states = None
        if hx is not None:
            states = list(hx) if mode == "LSTM" else [hx]
            if mode == "LSTM" and len(states) != 2:
                raise RuntimeError("lstm_cell expects two hidden states")
            if not batched:
                states = [s.unsqueeze(0) for s in states]
            for k, state in enumerate(states):
                if state.ndim != 2 or state.shape[1] != self.hidden_size:
                    got = state.shape[1] if state.ndim > 1 else state.shape[-1]
                    raise RuntimeError(
                        f"hidden{k} has inconsistent hidden_size: got {got}, expected {self.hidden_size}"
                    )
                if state.shape[0] != input.shape[0]:
                    raise RuntimeError(
                        f"Input batch size {input.shape[0]} doesn't match "
                        f"hidden{k} batch size {state.shape[0]}"
                    )
        weights = [self.weight_ih, self.weight_hh]
        if self.bias:
            weights += [self.bias_ih, self.bias_hh]
        h0 = None if states is None else states[0]
        c0 = None if states is None or mode != "LSTM" else states[1]
        result = recurrence(input, h0, c0, weights, mode, (input.shape[0],), node=_CELL_NODES[mode])[1:]
        return result if batched else tuple(s.squeeze(0) for s in result)


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``); ``hx`` defaults to zeros."""

    nonlinearity: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(input, hx, modes[self.nonlinearity])[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c')`` from input and ``(h, c)`` (zeros when ``hx`` is None)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx, "LSTM")
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step: ``h'`` from input and ``h`` (zeros when ``hx`` is None)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx, "GRU")[0]
