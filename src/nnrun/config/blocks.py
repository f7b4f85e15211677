"""User blocks: reusable, parameterised modules written in YAML under ``blocks:``.

A block has typed ``args`` (``int``, ``float``, ``bool``, ``str``, ``list``, ``node``, ``any``), optional
``inputs`` (default ``[x]``), named ``modules`` (``${arg}`` substitutes an argument; a null child is absent)
and an optional ``forward`` program (without one, the children run in order). Each block becomes a
``Module`` subclass of its own name, so reprs and summaries read ``BasicBlock(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import pydantic
from pydantic import ConfigDict, Strict, StrictBool, StrictInt, StrictStr

from nnrun.config.errors import Mark
from nnrun.config.forward import Program
from nnrun.config.signature import ArgSchema
from nnrun.config.yaml_source import YamlMap
from nnrun.nn import Module

#: Block argument types and their pydantic checks (``node`` values are checked when they are built).
ARG_TYPES: dict[str, Any] = {
    "int": StrictInt,
    "float": Annotated[float, Strict()],
    "bool": StrictBool,
    "str": StrictStr,
    "list": list,
    "node": Any,
    "any": Any,
}
REQUIRED = object()


@dataclass
class ArgSpec:
    """One block argument: its type name and default (``REQUIRED`` when it has none)."""

    name: str
    type: str
    default: Any = REQUIRED


@dataclass
class BlockDef:
    """A parsed block: where it is defined, its arguments, children (raw YAML) and compiled forward."""

    name: str
    path: str
    mark: Mark
    args: dict[str, ArgSpec]
    inputs: tuple[str, ...]
    modules: YamlMap
    program: Program | None
    forward_marks: list[Mark]
    plain: dict[str, Any]
    siblings: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema: type[pydantic.BaseModel] = field(init=False)
    cls: type[BlockModule] = field(init=False)

    def __post_init__(self) -> None:
        fields = {}
        for spec in self.args.values():
            default = ... if spec.default is REQUIRED else spec.default
            fields[spec.name] = (ARG_TYPES[spec.type], default)
        config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
        self.schema = pydantic.create_model(f"{self.name}Arguments", __config__=config, **fields)
        doc = f"The YAML block ``{self.name}`` defined at {self.mark}."
        self.cls = type(self.name, (BlockModule,), {"__doc__": doc, "__module__": __name__, "block": self})

    @property
    def positional(self) -> tuple[str, ...]:
        return tuple(self.args)


class BlockModule(Module):
    """The base class of YAML blocks: children in file order and a compiled ``forward`` program."""

    block: ClassVar[BlockDef]

    def __init__(self, children: dict[str, Module | None], args: dict[str, Any]) -> None:
        super().__init__()
        for name, child in children.items():
            if child is not None:
                self.add_module(name, child)
        self._block_args = args  # the arguments as written (plain YAML values), for to_yaml

    def forward(self, *inputs: Any) -> Any:
        program = type(self).block.program
        if program is not None:
            return program.run(self, *inputs)
        (value,) = inputs
        for child in self._modules.values():
            value = child(value)
        return value


def block_schema(block: BlockDef) -> ArgSchema:
    """The block's arguments as an ``ArgSchema`` (so blocks and layers are checked alike)."""
    return ArgSchema(
        block.cls,
        block.positional,
        block.positional,
        False,
        block.schema,
        frozenset(name for name, spec in block.args.items() if spec.type == "node"),
        {name: spec.type for name, spec in block.args.items()},
    )
