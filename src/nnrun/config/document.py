"""``load``/``load_model_section`` (validate a model config) and ``build_model`` (make the Module)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from nnrun import _random, nn
from nnrun._memory import too_large
from nnrun.config.blocks import BlockDef
from nnrun.config.builder import CONTAINERS, Builder, TooLarge
from nnrun.config.definitions import parse_block, parse_blocks
from nnrun.config.errors import ConfigError, Issues, Mark, join_path, shown
from nnrun.config.imports import import_user_modules
from nnrun.config.schema import SectionSchema, check
from nnrun.config.shapes import dry_run
from nnrun.config.yaml_source import YamlMap, dump_yaml, locate, parse_file, parse_yaml, to_plain
from nnrun.nn import LAYERS
from nnrun.nn.parameter import is_lazy

#: The attribute under which a built model keeps its :class:`ModelConfig`.
CONFIG_ATTRIBUTE = "_nnrun_config"
SECTION_FORMS = (
    "module: NODE (one layer or container, e.g. module: {Sequential: [Flatten, {Linear: [784, 10]}]}), or "
    "modules: {name: NODE, …} with an optional forward:"
)


@dataclass
class ModelConfig:
    """A validated model section: its located YAML, blocks and root, ready for :func:`build_model`."""

    name: str
    file: str
    path: str
    section: YamlMap = field(repr=False)
    mark: Mark
    input_shape: tuple[int, ...] | None
    blocks: dict[str, BlockDef] = field(repr=False)
    root_block: BlockDef | None = field(repr=False)
    allow_dotted_paths: bool = False

    @property
    def yaml(self) -> str:
        """The model section as self-contained YAML text (includes inlined, ``input_shape`` set)."""
        data = to_plain(self.section)
        if self.input_shape is not None:
            data["input_shape"] = list(self.input_shape)
        return dump_yaml(data)


def load(
    source: str | os.PathLike,
    *,
    input_shape: tuple[int, ...] | list[int] | None = None,
    allow_dotted_paths: bool = False,
    allow_imports: bool = True,
) -> ModelConfig:
    """Read and validate a model config: a file path or YAML text.

    The document is either a model section, or a mapping whose ``model:`` key holds one (a training config;
    its other keys are left to the trainer, except ``input_shape``). ``input_shape`` (without the batch
    dimension) enables ``auto`` arguments and the shape check. Raises :class:`ConfigError` listing every
    problem as ``file:line:col: path: message``. ``allow_imports=False`` refuses ``imports:`` entries that are
    not imported already. A config kept inside a file is loaded with :func:`load_stored` instead."""
    document, mark = _parse(source)
    return _from_document(document, mark, input_shape, allow_dotted_paths, allow_imports)


def load_stored(
    text: str, origin: str, *, input_shape: tuple[int, ...] | list[int] | None = None
) -> ModelConfig:
    """Validate the model config (or the training config holding one) kept inside a checkpoint or model file.

    Such a config is data: ``text`` is parsed as YAML, never opened as a path; ``!include`` and dotted class
    paths are refused and ``imports:`` may only name modules imported already, so loading it reads no other
    file and runs no code. ``origin`` names it in errors (``ckpt.safetensors[config]:3:5: …``)."""
    if not isinstance(text, str):
        raise TypeError(f"a stored config is YAML text, got {type(text).__name__}")
    document, mark = parse_yaml(text, origin, stored=True)
    return _from_document(document, mark, input_shape, allow_dotted_paths=False, allow_imports=False)


def _from_document(
    document: Any,
    mark: Mark,
    input_shape: tuple[int, ...] | list[int] | None,
    allow_dotted_paths: bool,
    allow_imports: bool,
) -> ModelConfig:
    path = ""
    if isinstance(document, YamlMap) and "args" in document and "model" not in document:
        raise ConfigError(
            Issues.one(
                "args",
                "this file defines a block (it has 'args'), not a model: include it under 'blocks:' of a "
                "model config, e.g. blocks: {BasicBlock: !include models/basic_block.yaml}",
                document.key_marks["args"],
            )
        )
    if isinstance(document, YamlMap) and "model" in document:
        top_shape = document.get("input_shape")
        if top_shape is not None and input_shape is None:
            input_shape = _top_input_shape(top_shape, document)
        mark, document, path = document.value_marks["model"], document["model"], "model"
    return load_model_section(
        document,
        mark,
        path=path,
        input_shape=input_shape,
        allow_dotted_paths=allow_dotted_paths,
        allow_imports=allow_imports,
    )


def load_model_section(
    section: Any,
    mark: Mark,
    *,
    path: str = "model",
    input_shape: tuple[int, ...] | list[int] | None = None,
    allow_dotted_paths: bool = False,
    allow_imports: bool = True,
) -> ModelConfig:
    """Validate one located model section (as returned by the YAML loader) found at YAML ``path``.

    The trainer's config loader calls this on its ``model:`` value. Builds the model once (without touching
    the global RNG state) and, given an input shape, dry-runs it; raises :class:`ConfigError`."""
    issues = Issues()
    section = _node_as_section(section, mark)
    if not isinstance(section, YamlMap):
        issues.add(path, f"a model section is a mapping: {SECTION_FORMS}", mark)
        issues.raise_if_any()
    spec = check(SectionSchema, section, mark, path, issues)
    if spec is None and not {"module", "modules"} & set(section):
        issues.add(path, f"no module: or modules: here; {SECTION_FORMS}", mark)
    issues.raise_if_any()
    assert spec is not None
    if spec.imports:
        own_file = section.mark.file  # the file that holds the section, which may be an !include
        base = os.path.dirname(own_file) if os.path.isfile(own_file) else os.getcwd()

        def report(i: int, message: str) -> None:
            issues.add(join_path(path, "imports", i), message, locate(section, mark, ("imports", i)))

        import_user_modules(spec.imports, base, report, allow_new=allow_imports)
    shape = _input_shape(spec.input_shape, input_shape, section, mark, path, issues)
    layers = set(LAYERS)
    blocks_mark = section.value_marks.get("blocks", mark)
    blocks = parse_blocks(section.get("blocks"), blocks_mark, join_path(path, "blocks"), layers, issues)
    root_block = None
    if (spec.module is None) == (spec.modules is None):
        issues.add(
            path, "give exactly one of module: (a node) or modules: (named children, optional forward:)", mark
        )
    elif spec.modules is not None:
        root_block = parse_block(spec.name, section, mark, path, issues, inputs=spec.inputs)
    config = ModelConfig(
        spec.name, mark.file, path, section, mark, shape, blocks, root_block, allow_dotted_paths
    )
    broken = (
        set(section.get("blocks") or {}) - set(blocks) if isinstance(section.get("blocks"), dict) else set()
    )
    has_root = root_block is not None or (spec.module is not None and spec.modules is None)
    if has_root:
        state = _random.get_rng_state()
        try:
            _build(config, issues, broken, check_shapes=not issues)
        finally:
            _random.set_rng_state(state)
    issues.raise_if_any()
    return config


def is_model_node(value: Any) -> bool:
    """Whether ``value`` is one layer or container node (``ReLU``, ``{Sequential: […]}``), not a section."""
    names = (*LAYERS, *CONTAINERS)
    if isinstance(value, str):
        return value in names
    return isinstance(value, YamlMap) and len(value) == 1 and next(iter(value)) in names


def _node_as_section(section: Any, mark: Mark) -> Any:
    """A layer or container node written where a model section belongs (``model: {Sequential: […]}``) is
    read as the section ``{module: node}``."""
    if not is_model_node(section):
        return section
    wrapped = YamlMap(mark)
    wrapped["module"] = section
    wrapped.key_marks["module"] = wrapped.value_marks["module"] = mark
    return wrapped


def build_model(config: ModelConfig | str | os.PathLike) -> nn.Module:
    """Build the Module a config describes (``config`` may also be a path or YAML text, see :func:`load`).

    The model keeps its config in ``model._nnrun_config``, so ``nnrun.save(model, path)`` stores config and
    weights together and ``nnrun.load(path)`` rebuilds it."""
    if not isinstance(config, ModelConfig):
        config = load(config)
    issues = Issues()
    model = _build(config, issues, set(), check_shapes=False)
    issues.raise_if_any()
    setattr(model, CONFIG_ATTRIBUTE, config)
    return model


def _build(config: ModelConfig, issues: Issues, broken: set[str], check_shapes: bool) -> nn.Module:
    builder = Builder(
        config.blocks, issues, broken, config.allow_dotted_paths, shapes_known=config.input_shape is not None
    )
    try:
        if config.root_block is not None:
            model = builder.block(config.root_block, None, config.path, config.mark, config.mark)
        else:
            section = config.section
            where = join_path(config.path, "module")
            model = builder.node(section["module"], where, section.value_marks["module"])
    except TooLarge as exc:
        issues.add(exc.path, str(exc), exc.mark)
        return nn.Identity()
    lazy = any(is_lazy(t) for t in (*model.parameters(), *model.buffers()))  # sized by the dry run
    if config.input_shape is not None and not issues and (check_shapes or builder.pending or lazy):
        model = dry_run(model, config.input_shape, builder.origins, issues)
    return model


def _parse(source: str | os.PathLike) -> tuple[Any, Mark]:
    if isinstance(source, os.PathLike):
        return parse_file(os.fspath(source))
    if not isinstance(source, str):
        raise TypeError(f"nnrun.config.load expects a path or YAML text, got {type(source).__name__}")
    looks_like_path = "\n" not in source and source.strip().endswith((".yaml", ".yml"))
    if os.path.isfile(source) or looks_like_path:
        return parse_file(source)
    return parse_yaml(source)


def _top_input_shape(value: Any, document: YamlMap) -> Any:
    mark = document.value_marks["input_shape"]
    if not (isinstance(value, list) and all(type(v) is int and v > 0 for v in value)):
        raise ConfigError(Issues.one("input_shape", f"a list of positive ints, got {shown(value)}", mark))
    problem = _too_large_for_a_dry_run(value)
    if problem:
        raise ConfigError(Issues.one("input_shape", problem, mark))
    return value


def _too_large_for_a_dry_run(shape: list[int]) -> str | None:
    problem = too_large(4 * math.prod(shape))  # the dry run's float32 batch of one
    return f"one sample of shape {shape} takes {problem}" if problem else None


def _input_shape(
    own: list[int] | None, given: Any, section: YamlMap, mark: Mark, path: str, issues: Issues
) -> tuple[int, ...] | None:
    if given is not None and own is not None and list(given) != list(own):
        where = locate(section, mark, ("input_shape",))
        issues.add(
            join_path(path, "input_shape"), f"{own} differs from the input_shape {list(given)} given", where
        )
    shape = given if given is not None else own
    problem = _too_large_for_a_dry_run(list(shape)) if shape is not None else None
    if problem:
        issues.add(join_path(path, "input_shape"), problem, locate(section, mark, ("input_shape",)))
        return None
    return None if shape is None else tuple(int(s) for s in shape)
