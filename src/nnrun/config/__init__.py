"""Models described in YAML: load and validate a config, build the Module, and write a Module back.

``load(path_or_text)`` → :class:`ModelConfig` (raises :class:`ConfigError` listing every problem with its
file, line, column and YAML path); ``build_model(config)`` → ``nnrun.nn.Module``; ``to_yaml(module)`` → text.
``load_training(path, overrides)`` → :class:`TrainingConfig` (model plus data, optimizer, … for the trainer).
pydantic and PyYAML are imported only inside this package.
"""

from nnrun.config.document import (
    CONFIG_ATTRIBUTE,
    ModelConfig,
    build_model,
    load,
    load_model_section,
    load_stored,
)
from nnrun.config.errors import ConfigError, ConfigIssue, Mark
from nnrun.config.overrides import Override
from nnrun.config.to_yaml import to_yaml
from nnrun.config.training import TrainingConfig, is_training_document, load_stored_training, load_training
from nnrun.config.yaml_source import YamlMap, YamlSeq, parse_file, parse_stored, parse_yaml
from nnrun.nn import LAYERS
from nnrun.registry import register

unregister = LAYERS.unregister  # forget a layer registered under a name (for tests and interactive sessions)

__all__ = [
    "CONFIG_ATTRIBUTE",
    "ConfigError",
    "ConfigIssue",
    "Mark",
    "ModelConfig",
    "Override",
    "TrainingConfig",
    "YamlMap",
    "YamlSeq",
    "build_model",
    "is_training_document",
    "load",
    "load_model_section",
    "load_stored",
    "load_stored_training",
    "load_training",
    "parse_file",
    "parse_stored",
    "parse_yaml",
    "register",
    "to_yaml",
    "unregister",
]
