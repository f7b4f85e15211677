"""``nnrun.summary``: a torchinfo-style table of a model's layers, shapes, parameters and multiply-adds.

One forward pass runs on a batch of 1 (or on the data given) in eval mode under ``no_grad``, with a forward
pre-hook and a forward hook on every module; each module call becomes one :class:`LayerInfo` row.

What is counted
    * Parameters: every ``Parameter`` once, at the first module that owns it (module-tree order), so shared
      (tied) weights are not counted twice. A row's ``num_params`` is its own parameters only;
      ``params_total`` adds its descendants'. Buffers (BatchNorm running statistics) are not parameters.
    * Multiply-adds, per call: ``Linear`` ``rows × in_features × out_features``; ``ConvNd``
      ``output elements × in_channels / groups × prod(kernel_size)``; ``ConvTransposeNd``
      ``input elements × out_channels / groups × prod(kernel_size)`` (bias additions are not counted);
      ``Embedding`` 0 (a lookup); recurrent layers and cells ``rows × weight elements`` (every weight matrix
      of every layer and direction meets each time step of each sequence once; ``rows`` is the output's
      elements over its last dimension, so packed and unbatched inputs count their steps); any other
      module with its own parameters (BatchNorm, LayerNorm, user layers) ``batch × own parameters``,
      torchinfo's convention; parameter-free modules (activations, pooling, dropout, reshapes) 0.
      Functional operations inside ``forward`` (``out + identity``) are not modules and are not counted.
    * Memory: parameters and buffers at their dtype's item size; the forward activation estimate is the sum
      of the output sizes of the leaf module calls (modules without children), in-place results included.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from nnrun import _creation, _dtype, nn
from nnrun._random import Generator
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import no_grad
from nnrun.nn.parameter import is_lazy

Shape = list[int]


@dataclass
class LayerInfo:
    """One module call: where it sits in the tree, what it produced and what it costs."""

    name: str  # dotted path from the root ("" for the root itself)
    class_name: str
    depth: int  # 0 for the root, 1 for its children, …
    index: int  # 1-based position among the calls made inside the same parent call
    input_shape: Any = None  # a shape, or a list of shapes for several tensor arguments
    output_shape: Any = None  # a shape, a list of shapes (tuple output) or a dict of shapes
    num_params: int = 0  # own parameters (each shared parameter counted at its first owner)
    trainable_params: int = 0
    params_total: int = 0  # own and descendants' parameters
    mult_adds: int = 0  # this call's own multiply-adds
    mult_adds_total: int = 0  # own and those of the calls made inside this one
    output_bytes: int = 0
    is_leaf: bool = True  # a module without children
    is_recursive: bool = False  # the same module was already called earlier in this pass
    children: list[LayerInfo] = field(default_factory=list, repr=False)
    module: Any = field(default=None, repr=False, compare=False)  # the module called

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class_name": self.class_name,
            "depth": self.depth,
            "index": self.index,
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "num_params": self.num_params,
            "trainable_params": self.trainable_params,
            "params_total": self.params_total,
            "mult_adds": self.mult_adds,
            "mult_adds_total": self.mult_adds_total,
            "is_recursive": self.is_recursive,
        }


class ModelSummary:
    """The result of :func:`summary`: ``layers`` (every call, in call order), ``depth`` (rows deeper than it
    are folded into their ancestor when shown) and the totals as attributes. ``str()`` gives the table,
    ``to_dict()`` the same data for JSON."""

    def __init__(
        self, model_name: str, layers: list[LayerInfo], depth: int, input_shapes: list[Any], sizes: dict
    ) -> None:
        self.model_name = model_name
        self.layers = layers
        self.depth = depth
        self.input_shapes = input_shapes
        self.total_params: int = sizes["total_params"]
        self.trainable_params: int = sizes["trainable_params"]
        self.non_trainable_params = self.total_params - self.trainable_params
        self.total_mult_adds = sum(layer.mult_adds for layer in layers)
        self.input_bytes: int = sizes["input_bytes"]
        self.param_bytes: int = sizes["param_bytes"]
        self.buffer_bytes: int = sizes["buffer_bytes"]
        self.activation_bytes = sum(layer.output_bytes for layer in layers if layer.is_leaf)
        self.total_bytes = self.input_bytes + self.activation_bytes + self.param_bytes + self.buffer_bytes

    def visible_layers(self) -> list[LayerInfo]:
        """The rows shown: the calls at ``depth`` or above."""
        return [layer for layer in self.layers if layer.depth <= self.depth]

    def totals(self) -> dict[str, int]:
        return {
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "total_mult_adds": self.total_mult_adds,
            "input_bytes": self.input_bytes,
            "activation_bytes": self.activation_bytes,
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "total_bytes": self.total_bytes,
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data (ints, strings, lists, dicts) ready for ``json.dumps``."""
        return {
            "model": self.model_name,
            "input_shapes": self.input_shapes,
            "depth": self.depth,
            "layers": [layer.to_dict() for layer in self.visible_layers()],
            "totals": self.totals(),
        }

    # ----- text -----
    header = ("Layer (type (var_name):depth-idx)", "Output Shape", "Param #", "Mult-Adds")

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The table body as strings, one tuple per visible row, in the order of ``header``."""
        return [_row_cells(layer, self.depth) for layer in self.visible_layers()]

    def totals_lines(self) -> list[str]:
        mb = 1e6
        return [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds: {format_count(self.total_mult_adds)}",
            f"Input size (MB): {self.input_bytes / mb:.2f}",
            f"Forward activations size (MB): {self.activation_bytes / mb:.2f}",
            f"Params size (MB): {self.param_bytes / mb:.2f}",
            f"Buffers size (MB): {self.buffer_bytes / mb:.2f}",
            f"Estimated total size (MB): {self.total_bytes / mb:.2f}",
        ]

    def __str__(self) -> str:
        rows = self.rows()
        widths = [max(len(cell) for cell in column) for column in zip(self.header, *rows)]
        line = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
        rule_width = sum(widths) + 2 * (len(widths) - 1)
        heavy = "=" * rule_width
        table = [heavy, line.format(*self.header), heavy, *(line.format(*row) for row in rows), heavy]
        return "\n".join([*table, *self.totals_lines(), heavy])

    def __repr__(self) -> str:
        return str(self)


def _row_cells(layer: LayerInfo, max_depth: int) -> tuple[str, str, str, str]:
    folded = layer.depth == max_depth and not layer.is_leaf
    if layer.depth == 0:
        prefix = ""
    elif layer.depth == 1:
        prefix = "├─"
    else:
        prefix = "│    " * (layer.depth - 1) + "└─"
    name = layer.name.rpartition(".")[2]
    label = layer.class_name if layer.depth == 0 else f"{layer.class_name} ({name})"
    label = f"{prefix}{label}: {layer.depth}-{layer.index}" if layer.depth else label
    if layer.is_recursive:
        params = "(recursive)"
    else:
        count = layer.params_total if folded else layer.num_params
        params = f"{count:,}" if count else "--"
    mult_adds = layer.mult_adds_total if folded else layer.mult_adds
    return label, format_shape(layer.output_shape), params, f"{mult_adds:,}" if mult_adds else "--"


def format_shape(shape: Any) -> str:
    """``[1, 6, 28, 28]``; several outputs joined by ``, ``; ``--`` when there is none."""
    if shape is None:
        return "--"
    if isinstance(shape, dict):
        return ", ".join(f"{key}: {format_shape(value)}" for key, value in shape.items())
    if shape and not isinstance(shape[0], int):
        return ", ".join(format_shape(s) for s in shape)
    return str(list(shape))


def format_count(count: float) -> str:
    """``1.81 G``-style rendering of a large count."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= scale:
            return f"{count / scale:.2f} {unit}"
    return str(int(count))


# ----- running the model -----
def summary(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    input_data: Tensor | Sequence[Tensor] | None = None,
    depth: int = 3,
    dtype: Any = None,
    device: Any = None,
) -> ModelSummary:
    """Summarise ``model`` by running it once.

    ``input_size`` is the shape of one sample, without the batch dimension (``(1, 28, 28)``), or a list of
    such shapes for a model taking several tensors; a batch of 1 of random values (from a private generator,
    so the global RNG is untouched) is made with ``dtype`` (default: the model's floating dtype) on
    ``device`` (default: the model's). Or pass ``input_data``, a tensor or a sequence of tensors, as given.
    Without either, only the parameters are summarised (no shapes, no mult-adds). ``depth`` is the deepest
    tree level shown (the root is 0); deeper rows fold into their ancestor. The model runs in eval mode (so
    BatchNorm statistics are not updated) and its training flags are restored afterwards.
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    if input_size is not None and input_data is not None:
        raise ValueError("pass input_size or input_data, not both")
    inputs = _make_inputs(model, input_size, dtype, device) if input_size is not None else input_data
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    layers = _trace(model, tuple(inputs)) if inputs is not None else _tree(model)
    _fill_params(layers, _owned_params(model))  # after the run, which sizes lazy layers
    params = list(model.parameters())
    sizes = {
        "total_params": sum(_numel(p) for p in params),
        "trainable_params": sum(_numel(p) for p in params if p.requires_grad),
        "input_bytes": sum(t.numel() * t.element_size() for t in inputs or () if isinstance(t, Tensor)),
        "param_bytes": sum(_numel(p) * p.element_size() for p in params),
        "buffer_bytes": sum(_numel(b) * b.element_size() for b in model.buffers()),
    }
    shapes = [_shape_of(t) for t in inputs or ()]
    return ModelSummary(type(model).__name__, layers, depth, shapes, sizes)


def _make_inputs(model: nn.Module, input_size: Sequence[Any], dtype: Any, device: Any) -> tuple[Tensor, ...]:
    sizes = list(input_size) if input_size and isinstance(input_size[0], (list, tuple)) else [input_size]
    first = next(model.parameters(), None)
    if dtype is None:
        floating = first is not None and first.dtype.is_floating_point
        dtype = first.dtype if floating else _dtype.get_default_dtype()
    dtype = _dtype.to_dtype(dtype)
    if device is None:
        device = first.device if first is not None else "cpu"
    tensors = []
    for size in sizes:
        shape = (1, *(int(s) for s in size))
        if any(s < 0 for s in shape):
            raise ValueError(f"input_size must hold non-negative sizes, got {list(size)}")
        if dtype.is_floating_point:
            generator = Generator(device).manual_seed(0)
            tensors.append(_creation.rand(*shape, generator=generator, dtype=dtype, device=device))
        else:
            tensors.append(_creation.zeros(*shape, dtype=dtype, device=device))
    return tuple(tensors)


def _trace(model: nn.Module, inputs: tuple[Any, ...]) -> list[LayerInfo]:
    """Run ``model(*inputs)`` once with hooks on every module; one row per module call, in call order."""
    names = {id(module): name for name, module in model.named_modules()}
    layers: list[LayerInfo] = []
    stack: list[LayerInfo] = []
    parents: list[nn.Module] = []  # the modules of ``stack``
    roots: list[LayerInfo] = []
    called: set[int] = set()

    def before(module: nn.Module, args: tuple[Any, ...]) -> None:
        siblings = stack[-1].children if stack else roots
        layer = LayerInfo(
            name=_call_name(module, stack[-1] if stack else None, parents, names),
            class_name=type(module).__name__,
            depth=len(stack),
            index=len(siblings) + 1,
            input_shape=_args_shape(args),
            is_leaf=not any(child is not None for child in module._modules.values()),
            is_recursive=id(module) in called,
            module=module,
        )
        called.add(id(module))
        siblings.append(layer)
        layers.append(layer)
        stack.append(layer)
        parents.append(module)

    def after(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        layer = stack.pop()
        parents.pop()
        layer.output_shape = _shape_of(output)
        layer.output_bytes = sum(t.numel() * t.element_size() for t in _tensors(output))
        layer.mult_adds = mult_adds(module, args, output)

    modules = list(model.modules())
    handles = []
    training = [module.training for module in modules]
    try:
        for module in modules:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        model.eval()
        with no_grad():
            try:
                model(*inputs)
            except Exception as error:
                raise _located(error, stack, inputs) from error
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in zip(modules, training):
            module.training = flag
    for layer in reversed(layers):
        layer.mult_adds_total = layer.mult_adds + sum(child.mult_adds_total for child in layer.children)
    return layers


def _call_name(
    module: nn.Module, caller: LayerInfo | None, parents: list[nn.Module], names: dict[int, str]
) -> str:
    """The dotted path of ``module`` as reached from the module calling it (a shared module has several
    paths); its first path in the tree when the caller does not hold it as a child."""
    if caller is not None:
        for key, child in parents[-1]._modules.items():
            if child is module:
                return f"{caller.name}.{key}" if caller.name else key
    return names.get(id(module), "")


def _tree(model: nn.Module) -> list[LayerInfo]:
    """Rows for the module tree itself, without running it (no shapes, no mult-adds)."""
    layers: list[LayerInfo] = []
    seen: set[int] = set()

    def visit(module: nn.Module, name: str, depth: int, index: int) -> None:
        children = [(key, child) for key, child in module._modules.items() if child is not None]
        recursive = id(module) in seen
        seen.add(id(module))
        layer = LayerInfo(name, type(module).__name__, depth, index, is_leaf=not children, module=module)
        layer.is_recursive = recursive
        layers.append(layer)
        if recursive:
            return
        for i, (key, child) in enumerate(children):
            visit(child, f"{name}.{key}" if name else key, depth + 1, i + 1)

    visit(model, "", 0, 1)
    return layers


def _located(error: Exception, stack: list[LayerInfo], inputs: tuple[Any, ...]) -> Exception:
    """``error`` with the innermost failing module and the input shape prefixed to its message."""
    where = stack[-1] if stack else None
    place = f"module '{where.name}' ({where.class_name})" if where and where.name else "the model"
    got = f" on input {format_shape(where.input_shape)}" if where and where.input_shape is not None else ""
    shapes = ", ".join(format_shape(_shape_of(t)) for t in inputs)
    message = f"{place} failed{got}: {error} (model input {shapes})"
    try:
        return type(error)(message)
    except Exception:
        return RuntimeError(message)


def _numel(tensor: Tensor) -> int:
    """Element count; 0 for a lazy layer's placeholder that has no shape yet."""
    return 0 if is_lazy(tensor) else tensor.numel()


def _owned_params(model: nn.Module) -> dict[int, tuple[int, int]]:
    """id(module) → (own parameter count, trainable part), each parameter at its first owner only."""
    seen: set[int] = set()
    owned: dict[int, tuple[int, int]] = {}
    for module in model.modules():
        total = trainable = 0
        for param in module._parameters.values():
            if param is None or id(param) in seen:
                continue
            seen.add(id(param))
            total += _numel(param)
            trainable += _numel(param) if param.requires_grad else 0
        owned[id(module)] = (total, trainable)
    return owned


def _fill_params(layers: list[LayerInfo], owned: dict[int, tuple[int, int]]) -> None:
    for layer in layers:
        module = layer.module
        layer.num_params, layer.trainable_params = owned.get(id(module), (0, 0))
        layer.params_total = sum(owned.get(id(m), (0, 0))[0] for m in module.modules())


# ----- shapes -----
def _tensors(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _shape_of(value: Any) -> Any:
    if isinstance(value, Tensor):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [_shape_of(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _shape_of(item) for key, item in value.items()}
    return None


def _args_shape(args: tuple[Any, ...]) -> Any:
    shapes = [_shape_of(arg) for arg in args]
    return shapes[0] if len(shapes) == 1 else shapes


# ----- multiply-adds -----
def mult_adds(module: nn.Module, args: tuple[Any, ...], output: Any) -> int:
    """Multiply-adds of one call of ``module`` (own work only; children count their own). See the module
    docstring for the rules."""
    out = next(_tensors(output), None)
    if out is None:
        return 0
    if isinstance(module, nn.Linear):
        return out.numel() // max(module.out_features, 1) * module.in_features * module.out_features
    if isinstance(module, _TRANSPOSED_CONVS):
        source = next(_tensors(args), None)
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return 0 if source is None else source.numel() * per_input
    if isinstance(module, _CONVS):
        return out.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Embedding):
        return 0
    if isinstance(module, _RECURRENT):
        rows = out.numel() // max(out.shape[-1], 1) if out.dim() else 1
        return rows * sum(p.numel() for name, p in module.named_parameters() if name.startswith("weight"))
    own = sum(p.numel() for p in module._parameters.values() if p is not None)
    return (out.shape[0] if out.dim() else 1) * own


_CONVS = (nn.Conv1d, nn.Conv2d)
_RECURRENT = (nn.RNNBase, nn.RNNCellBase)
_TRANSPOSED_CONVS = (nn.ConvTranspose2d,)
