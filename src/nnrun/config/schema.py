"""pydantic schemas of a config's fixed structure (the model section and block definitions), and the
mapping of pydantic errors back to YAML paths and marks."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from pydantic import ConfigDict, Field, StrictInt, StrictStr

from nnrun.config.errors import Issues, Mark, join_path, shown
from nnrun.config.yaml_source import locate
from nnrun.registry import did_you_mean

PositiveInt = Annotated[StrictInt, Field(gt=0)]


class _Strict(pydantic.BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class BlockSchema(_Strict):
    """``blocks.NAME``: ``args``, ``inputs``, ``modules`` and ``forward``."""

    args: dict[StrictStr, Any] = {}
    inputs: list[StrictStr] = ["x"]
    modules: dict[StrictStr, Any] = {}
    forward: list[Any] | None = None


class SectionSchema(_Strict):
    """A model section: a root ``module:`` node, or a root block written with ``modules:``/``forward:``."""

    name: StrictStr = "Model"
    imports: list[StrictStr] = []
    blocks: dict[StrictStr, Any] = {}
    input_shape: list[PositiveInt] | None = None
    inputs: list[StrictStr] = ["x"]
    modules: dict[StrictStr, Any] | None = None
    forward: list[Any] | None = None
    module: Any = None


def check(
    schema: type[pydantic.BaseModel], value: Any, mark: Mark, path: str, issues: Issues
) -> pydantic.BaseModel | None:
    """Validate ``value`` against ``schema``; report each error at its YAML place; None if any."""
    try:
        return schema.model_validate(value)
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                hint = did_you_mean(loc[-1], _fields_at(schema, loc[:-1]))
                message = f"unknown key '{loc[-1]}'{hint}"
            elif error["type"] == "missing":
                message = f"missing required key '{loc[-1]}'"
            else:
                message = f"{error['msg'].removeprefix('Value error, ')}, got {shown(error['input'])}"
            at_key = error["type"] in ("extra_forbidden",)
            issues.add(join_path(path, *loc), message, locate(value, mark, loc, at_key=at_key))
        return None


def _fields_at(schema: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model that ``loc`` leads to within ``schema``; [] when none."""
    for key in loc:
        field = schema.model_fields.get(key) if isinstance(key, str) else None
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)):
            return []
        schema = annotation
    return list(schema.model_fields)
