"""The one ``Registry`` class: lookup with suggestions, registration rules, and ``register``'s routing."""

import pytest

import nnrun
from nnrun import registry as registry_module
from nnrun.data.transforms import TRANSFORMS, Transform
from nnrun.nn import LAYERS
from nnrun.optim import OPTIMIZERS, SCHEDULERS
from nnrun.registry import Registry, UnknownName, did_you_mean, register, registry_for


class Base:
    pass


class Other:
    pass


def test_builtins_load_lazily_and_are_listed_after_registered_entries():
    calls = []

    def builtins():
        calls.append(1)
        return {"Alpha": int}

    registry = Registry("thing", builtins=builtins)
    assert calls == []
    registry.register(str, name="Beta")
    assert registry.names() == ["Beta", "Alpha"]
    assert registry.get("Alpha") is int and "Alpha" in registry and len(registry) == 2
    assert registry["Beta"] is str and registry.items() == [("Beta", str), ("Alpha", int)]
    with pytest.raises(KeyError):
        registry["Gamma"]
    assert calls == [1]


def test_get_suggests_close_names():
    registry = Registry("layer", builtins=lambda: {"Conv2d": int, "Linear": float})
    with pytest.raises(UnknownName) as caught:
        registry.get("conv2D")
    assert str(caught.value) == "unknown layer 'conv2D' (did you mean Conv2d?)"
    assert isinstance(caught.value, KeyError)
    with pytest.raises(UnknownName, match=r"^unknown layer 'Zzz'$"):
        registry.get("Zzz")


def test_a_taken_name_is_refused_and_a_builtin_is_never_replaced():
    registry = Registry("layer", builtins=lambda: {"Linear": float})
    with pytest.raises(ValueError, match=r"layer name 'Linear' is already registered for builtins\.float"):
        registry.register(int, name="Linear")
    registry.register(int, name="Mine")
    registry.register(int, name="Mine")  # the same class again is fine
    with pytest.raises(ValueError, match="'Mine' is already registered"):
        registry.register(str, name="Mine")
    registry.unregister("Mine")
    assert "Mine" not in registry
    registry.unregister("Linear")
    assert registry.get("Linear") is float


def test_base_class_is_enforced_and_register_routes_by_closest_base(monkeypatch):
    monkeypatch.setattr(registry_module, "_REGISTRIES", [])

    class Special(Base):
        pass

    general = Registry("general", base=Base)
    special = Registry("special", base=Special)
    with pytest.raises(TypeError, match="a general must be a Base subclass"):
        general.register(Other)

    @register(name="Leaf")
    class Leaf(Special):
        pass

    assert special.get("Leaf") is Leaf and "Leaf" not in general
    assert registry_for(Base) is general
    with pytest.raises(TypeError, match=r"nnrun\.register expects a subclass of one of"):
        register(Other)


def test_did_you_mean_is_case_insensitive_and_lists_up_to_three():
    assert did_you_mean("relu", ["ReLU", "ReLU6", "RReLU", "GELU"]).startswith(" (did you mean ReLU or")
    assert did_you_mean("nothing", ["ReLU"]) == ""


def test_nnrun_register_routes_each_kind_to_its_registry():
    class Plateau(nnrun.optim.lr_scheduler.ReduceLROnPlateau):
        pass

    expected = {
        nnrun.nn.Module: LAYERS,
        nnrun.nn.MSELoss: LAYERS,
        nnrun.optim.Optimizer: OPTIMIZERS,
        nnrun.optim.SGD: OPTIMIZERS,
        nnrun.optim.lr_scheduler.LRScheduler: SCHEDULERS,
        Plateau: SCHEDULERS,
        Transform: TRANSFORMS,
    }
    assert {cls: registry_for(cls) for cls in expected} == expected
    assert nnrun.register is register
