"""Fine-tuning a freshly built model: its starting weights (``init_from:``), the parameters left untrained
(``freeze:``) and the optimizer's parameter groups (``param_groups:``, ``no_decay:``).

Every pattern is a regular expression matched with ``re.search`` against the names of
``model.named_parameters()``; a pattern that selects no parameter is a config error at its line, raised when
the model is built, before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import nnrun
from nnrun import nn
from nnrun.config import TrainingConfig
from nnrun.config.fine_tuning import InitFrom
from nnrun.nn.modules._affine import _AffineNorm  # BatchNorm*, InstanceNorm*, LayerNorm, GroupNorm, RMSNorm
from nnrun.serialization import CheckpointError
from nnrun.train.checkpoint import FORMAT, load_checkpoint


@dataclass
class InitReport:
    """What ``init_from`` loaded: the file, the keys loaded, and (``strict: false``) the model's keys it
    did not hold (``missing_keys``) and its keys the model does not have (``unexpected_keys``), like the
    result of torch's ``load_state_dict``."""

    path: str
    loaded: list[str] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"init_from {self.path}: loaded {len(self.loaded)} tensor(s)"
        if self.missing_keys:
            text += f"; missing (left as built): {', '.join(self.missing_keys)}"
        if self.unexpected_keys:
            text += f"; unexpected (not used): {', '.join(self.unexpected_keys)}"
        return text


def init_weights(cfg: TrainingConfig, model: nn.Module) -> InitReport | None:
    """Load ``cfg.init_from``'s weights into ``model`` (renamed by its ``map`` first); a file, key or
    shape that does not fit is a config error at ``init_from``."""
    spec = cfg.init_from
    if spec is None:
        return None
    where = "init_from" if isinstance(cfg.document.get("init_from"), str) else "init_from.path"
    weights = _read(cfg, spec, where)
    renamed: dict[str, Any] = {}
    for key, value in weights.items():
        new = key
        for pattern, replacement in spec.map:
            new = re.sub(pattern, replacement, new)
        if new in renamed:
            raise cfg.error_at("init_from", f"{spec.path}: the map renames two keys to {new!r}")
        renamed[new] = value
    own = model.state_dict()
    mismatched = [
        f"{key}: {tuple(value.shape)} in the file, {tuple(own[key].shape)} in the model"
        for key, value in renamed.items()
        if key in own and tuple(value.shape) != tuple(own[key].shape)
    ]
    if mismatched:
        raise cfg.error_at("init_from", f"{spec.path}: shapes differ: " + "; ".join(mismatched))
    missing = [key for key in own if key not in renamed]
    unexpected = [key for key in renamed if key not in own]
    if spec.strict and (missing or unexpected):
        problems = []
        if missing:
            problems.append(f"missing from the file: {', '.join(missing)}")
        if unexpected:
            problems.append(f"not in the model: {', '.join(unexpected)}")
        advice = "rename keys with map: {regex: replacement}, or load what fits with strict: false"
        raise cfg.error_at("init_from", f"{spec.path}: {'; '.join(problems)} ({advice})")
    fitting = {key: value.to(own[key].device) for key, value in renamed.items() if key in own}
    model.load_state_dict(fitting, strict=False)
    return InitReport(spec.path, list(fitting), missing, unexpected)


def _read(cfg: TrainingConfig, spec: InitFrom, where: str) -> dict[str, Any]:
    """The tensors of a training checkpoint's ``model`` entry, or of a file of tensors."""
    try:
        content = nnrun.load(spec.path, map_location="cpu")
        if isinstance(content, dict) and content.get("format") == FORMAT:
            content = load_checkpoint(spec.path)["model"]
    except CheckpointError as exc:
        raise cfg.error_at(where, f"cannot read the weights: {exc}") from None
    except Exception as exc:  # any other failure to decode the file
        raise cfg.error_at(where, f"{spec.path}: not a weights file ({type(exc).__name__}: {exc})") from None
    if not isinstance(content, dict) or not all(
        isinstance(key, str) and isinstance(value, nnrun.Tensor) for key, value in content.items()
    ):
        message = (
            f"{spec.path}: holds no state_dict (a training checkpoint, or nnrun.save(model.state_dict()))"
        )
        raise cfg.error_at(where, message)
    return content


def freeze(cfg: TrainingConfig, model: nn.Module) -> list[str]:
    """Set ``requires_grad=False`` on the parameters ``cfg.freeze`` selects; return their names."""
    named = dict(model.named_parameters())
    frozen: list[str] = []
    for i, pattern in enumerate(cfg.freeze):
        matched = [name for name in named if re.search(pattern, name)]
        if not matched:
            raise cfg.error_at(f"freeze.{i}", f"{pattern!r} matches no parameter; {_names(named)}")
        frozen += [name for name in matched if name not in frozen]
    for name in frozen:
        named[name].requires_grad_(False)
    return frozen


def optimizer_params(cfg: TrainingConfig, model: nn.Module) -> list[Any]:
    """What the optimizer gets: the trainable parameters, or with ``param_groups``/``no_decay`` a list of
    groups. The unmatched parameters form the first group (the node's own arguments), then each
    ``param_groups`` item in order (a parameter goes to the first that matches); with ``no_decay``, each
    group is followed by a copy with ``weight_decay: 0`` holding its bias and/or normalization parameters.
    Empty groups are left out."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not cfg.param_groups and not cfg.no_decay:
        return [p for _, p in named]
    groups: list[tuple[dict[str, Any], list[tuple[str, Any]]]] = [({}, [])]
    groups += [(dict(spec.options), []) for spec in cfg.param_groups]
    for name, param in named:
        index = next((i for i, g in enumerate(cfg.param_groups, 1) if re.search(g.params, name)), 0)
        groups[index][1].append((name, param))
    for i, spec in enumerate(cfg.param_groups, 1):
        if not groups[i][1]:
            everything = dict(model.named_parameters())
            problem = f"{spec.params!r} matches no trainable parameter"
            taken = [name for name in everything if re.search(spec.params, name)]
            if taken:
                problem += f" (it matches {', '.join(taken)}, which are frozen or taken by an earlier group)"
            raise cfg.error_at(f"optimizer.param_groups.{i - 1}.params", f"{problem}; {_names(everything)}")
    exempt = no_decay_names(model, cfg.no_decay)
    built = []
    for options, members in groups:
        decayed = [p for name, p in members if name not in exempt]
        kept = [p for name, p in members if name in exempt]
        if decayed:
            built.append({"params": decayed, **options})
        if kept:
            built.append({"params": kept, **options, "weight_decay": 0.0})
    return built


def no_decay_names(model: nn.Module, kinds: tuple[str, ...]) -> set[str]:
    """The parameter names ``no_decay`` exempts: ``bias`` (names ending in ``bias``), ``norm`` (every
    parameter of a BatchNorm, InstanceNorm, LayerNorm, GroupNorm or RMSNorm layer)."""
    names: set[str] = set()
    if "bias" in kinds:
        names |= {name for name, _ in model.named_parameters() if name.endswith("bias")}
    if "norm" in kinds:
        for prefix, module in model.named_modules():
            if isinstance(module, _AffineNorm):
                names |= {name for name, _ in module.named_parameters(prefix=prefix)}
    return names


def _names(named: dict[str, Any]) -> str:
    shown = ", ".join(list(named)[:12]) + (", …" if len(named) > 12 else "")
    return f"the model's parameters: {shown}" if named else "the model has no parameters"
