"""Argument schemas derived from layer constructors: one pydantic model per class, built once.

The signature of ``cls.__init__`` and its type hints are the single source of truth: each parameter becomes a
pydantic field of the same name, type and default. Scalars are checked strictly (``"3"`` is not an int,
``true`` is not a number); YAML lists are accepted where a tuple is expected.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import AfterValidator, ConfigDict, Strict, StrictBool, StrictInt, StrictStr

from nnrun import nn
from nnrun.config.errors import shown
from nnrun.registry import did_you_mean

AUTO = "auto"
#: Arguments that may be ``auto``, and the input dimension that supplies their value.
AUTO_DIMS = {
    "in_features": -1,
    "in1_features": -1,
    "in_channels": 1,
    "num_features": 1,
    "num_channels": 1,
    "normalized_shape": -1,
    "embed_dim": -1,
    "input_size": -1,
}
#: Sizes that must be positive ints (or lists of them), whatever the constructor's annotation says.
POSITIVE = frozenset(
    ("in_features", "out_features", "in_channels", "out_channels", "num_features", "num_channels",
     "num_groups", "num_embeddings", "embedding_dim", "kernel_size", "stride", "dilation", "groups")
)  # fmt: skip
#: Sizes whose product bounds the elements of any one parameter of the built-in layers (Linear: in × out;
#: Conv: in × out × kernel; Embedding: num × dim; norms: features).
PARAMETER_SIZES = frozenset(
    ("in_features", "out_features", "in1_features", "in2_features", "in_channels", "out_channels",
     "num_features", "num_channels", "num_embeddings", "embedding_dim", "kernel_size")
)  # fmt: skip
#: Constructor arguments a config never sets (placement is the trainer's job; ``_private`` ones too).
SKIPPED = ("device", "dtype")


@dataclass(frozen=True)
class ArgSchema:
    """How a class takes its arguments: names in positional order, the pydantic model, node-valued names."""

    cls: type
    positional: tuple[str, ...]
    names: tuple[str, ...]
    var_positional: bool
    model: type[pydantic.BaseModel]
    node_params: frozenset[str]
    annotations: dict[str, Any]

    @property
    def title(self) -> str:
        return self.cls.__name__


@functools.cache
def schema_for(cls: type) -> ArgSchema:
    """The argument schema of ``cls`` (cached: built once per class)."""
    signature = inspect.signature(cls.__init__)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # annotations naming things only imported for type checking
        hints = {}
    fields: dict[str, Any] = {}
    positional, names, node_params, annotations = [], [], set(), {}
    var_positional = False
    for i, param in enumerate(signature.parameters.values()):
        if i == 0 or param.name in SKIPPED or param.name.startswith("_") or param.kind is param.VAR_KEYWORD:
            continue
        if param.kind is param.VAR_POSITIONAL:
            var_positional = True
            continue
        if param.kind is param.POSITIONAL_OR_KEYWORD:
            positional.append(param.name)
        names.append(param.name)
        annotation = hints.get(param.name, Any)
        annotations[param.name] = annotation
        if _mentions_module(annotation):
            node_params.add(param.name)
            annotation = Any
        default = ... if param.default is param.empty else param.default
        checked = _strict(annotation)
        if param.name in POSITIVE:
            checked = Annotated[checked, AfterValidator(_positive)]
        fields[param.name] = (checked, default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    model = pydantic.create_model(f"{cls.__name__}Arguments", __config__=config, **fields)
    return ArgSchema(
        cls, tuple(positional), tuple(names), var_positional, model, frozenset(node_params), annotations
    )


def validate_arguments(
    schema: ArgSchema, kwargs: dict[str, Any], skip: frozenset[str] = frozenset()
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Check ``kwargs`` against ``schema``; return (validated values, {argument: message}).

    Arguments in ``skip`` (``auto`` values, known only later) are left out of the check; the values are then
    None: validate again once they are known."""
    checked = {key: value for key, value in kwargs.items() if key not in skip}
    not_a_number = [key for key, value in checked.items() if holds_float(value, math.isnan)]
    if not_a_number:  # NaN passes every comparison a constructor makes (``lr < 0``), so refuse it here
        message = "{title}: argument '{key}' must be a number, got nan"
        return None, {key: message.format(title=schema.title, key=key) for key in not_a_number}
    try:
        validated = schema.model.model_validate(checked)
    except pydantic.ValidationError as exc:
        return None, _messages(schema, exc, checked, skip)
    if skip:
        return None, {}
    values = {key: getattr(validated, key) for key in checked}
    for key, value in values.items():
        if schema.annotations.get(key, Any) is Any and key not in schema.node_params:
            values[key] = _tuples(value)  # PyTorch's convention for sizes: kernel_size=[3, 3] → (3, 3)
    return values, {}


def holds_float(value: Any, test: Callable[[float], bool]) -> bool:
    """Whether ``value``, or a float in it (lists and tuples, nested), passes ``test`` (``math.isnan``)."""
    if isinstance(value, float):
        return test(value)
    return isinstance(value, (list, tuple)) and any(holds_float(item, test) for item in value)


def _messages(schema: ArgSchema, exc: pydantic.ValidationError, given: dict, skip: set[str]) -> dict:
    by_field: dict[str, list[dict]] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name not in skip:
            by_field.setdefault(name, []).append(error)
    messages = {}
    for name, errors in by_field.items():
        kind = errors[0]["type"]
        if kind == "missing":
            messages[name] = f"{schema.title}: missing required argument '{name}'"
        elif kind == "extra_forbidden":
            hint = did_you_mean(name, schema.names)
            messages[name] = f"{schema.title}: unknown argument '{name}'{hint}"
        elif all(_is_type_error(error) for error in errors):
            expected = type_text(schema.annotations.get(name, Any))
            messages[name] = (
                f"{schema.title}: argument '{name}' must be {expected}, got {shown(given.get(name))}"
            )
        else:
            detail = errors[0]["msg"].removeprefix("Value error, ")
            messages[name] = f"{schema.title}: argument '{name}' {detail}"
    return messages


def _positive(value: Any) -> Any:
    """Sizes: a positive int or a list/tuple of positive ints (None where the default is None)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if value is not None and not all(type(item) is int and item > 0 for item in items):
        raise ValueError(f"must be a positive int or a list of positive ints, got {shown(value)}")
    return value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


def _is_type_error(error: dict) -> bool:
    return error["type"].endswith("_type") or error["type"] in ("is_instance_of", "literal_error")


def type_text(annotation: Any) -> str:
    """A readable type: ``int``, ``int | tuple[int, int]``."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _strict(annotation: Any) -> Any:
    """``annotation`` with int/bool/str/float checked strictly; unknown classes are kept (isinstance)."""
    if annotation is bool:
        return StrictBool
    if annotation is int:
        return StrictInt
    if annotation is str:
        return StrictStr
    if annotation is float:
        return StrictInt | Annotated[float, Strict()]  # an int stays an int, as when called from Python
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_strict(arg) for arg in args)]  # noqa: UP007 (built from a runtime tuple)
    if origin is tuple and args:
        inner = tuple(arg if arg is Ellipsis else _strict(arg) for arg in args)
        return tuple[inner]
    if origin in (list, collections.abc.Sequence) and args:
        return list[_strict(args[0])] if origin is list else collections.abc.Sequence[_strict(args[0])]
    if origin is Literal or annotation is Any or origin is not None:
        return annotation
    if isinstance(annotation, type):
        return annotation
    return Any


def _mentions_module(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, nn.Module)
    return any(_mentions_module(arg) for arg in typing.get_args(annotation))
