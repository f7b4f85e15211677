"""``nnrun.nn.LAYERS``: the layers and losses configs name."""

from nnrun import nn
from nnrun.nn import LAYERS


def test_builtin_layers_are_the_public_modules_of_nnrun_nn_except_containers():
    public = {
        name: getattr(nn, name)
        for name in nn.__all__
        if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)
    }
    not_layers = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
    not_layers.add("DataParallel")  # a wrapper around a built module
    assert LAYERS.entries() == {name: cls for name, cls in sorted(public.items()) if name not in not_layers}
    assert LAYERS.get("CrossEntropyLoss") is nn.CrossEntropyLoss and LAYERS.name_of(nn.Conv2d) == "Conv2d"
