"""Options shared by several commands, and the command classes that print their help."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", metavar="KEY.PATH=VALUE", help="Override a config value (repeatable), e.g. train.epochs=5."
    ),
]
DeviceOption = Annotated[
    str | None,
    typer.Option("--device", metavar="DEVICE", help="cpu, cuda, cuda:N or auto (overrides device)."),
]
ImportOption = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        metavar="FILE.py|MODULE",
        help="Import it first (repeatable): what the checkpoint's config lists under imports:.",
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")]


def _without_flag_types(params: list[Any]) -> list[Any]:
    """On/off flags take no value, so their help shows no ``<bool>`` type."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose help lists flags without a value type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))


class Group(TyperGroup):
    """The ``nnrun`` group, whose help lists flags without a value type."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_types(super().get_params(ctx))
