"""A corpus of broken configs: each must fail with an error naming the right YAML path and line.

The line marked ``# <`` in each case is the line the error must point at."""

import pytest

from nnrun.config import ConfigError, load

BLOCK = """\
blocks:
  Res:
    args: {width: int, act: {type: node, default: null}}
    modules:
      fc: {Linear: ["${width}", "${width}"]}
      act: ${act}
    forward:
      - y = fc(x)
      - return x + (act(y) if act else y)
"""

CASES = {
    "a block file given where a model is expected": (
        "args: {width: int}  # <\nmodules:\n  fc: {Linear: ['${width}', '${width}']}\n",
        "args",
        "this file defines a block (it has 'args'), not a model",
    ),
    "unknown layer": (
        "module:\n  Sequential:\n    - {Linaer: [4, 2]}  # <\n",
        "module.Sequential.0.Linaer",
        "unknown layer 'Linaer' (did you mean Linear or ",  # then the other near names
    ),
    "misspelt argument": (
        "module: {Linear: {in_features: 4,\n  out_featurs: 2}}  # <\n",
        "module.Linear.out_featurs",
        "did you mean out_features",
    ),
    "wrong type": (
        "module:\n  Linear: {in_features: four, out_features: 2}  # <\n",
        "module.Linear.in_features",
        "must be int, got 'four'",
    ),
    "bool is not int": ("module:\n  Linear: [true, 2]  # <\n", "module.Linear.in_features", "must be int"),
    "float is not int": ("module:\n  Linear: [4.0, 2]  # <\n", "module.Linear.in_features", "must be int"),
    "string is not bool": ("module:\n  Linear: [4, 2, 'yes']  # <\n", "module.Linear.bias", "must be bool"),
    "missing argument": (
        "module:\n  Linear: {in_features: 4}  # <\n",
        "module.Linear.out_features",
        "missing required argument 'out_features'",
    ),
    "too many positionals": (
        "module:\n  Linear: [4, 2, true, 1]  # <\n",
        "module.Linear",
        "at most 3 positional arguments",
    ),
    "negative features": (
        "module:\n  Sequential:\n    - ReLU\n    - {Linear: [-4, 2]}  # <\n",
        "module.Sequential.1.Linear.in_features",
        "must be a positive int",
    ),
    "kernel size 0": ("module:\n  Conv2d: [1, 6, [3, 0]]  # <\n", "module.Conv2d.kernel_size", "positive"),
    "bad dropout value": ("module: {Dropout: 1.5}  # <\n", "module.Dropout", "between 0 and 1"),
    "unknown top-level key": ("module: ReLU\nmodlues: {}  # <\n", "modlues", "did you mean modules"),
    "module and modules": ("module: ReLU  # <\nmodules: {a: ReLU}\n", "", "exactly one of module:"),
    "no root": ("name: Empty  # <\n", "", "exactly one of module:"),
    "bad input_shape": ("module: ReLU\ninput_shape: [1, -28]  # <\n", "input_shape.1", "greater than 0"),
    "empty file": ("", "", "document is empty"),
    "bad yaml": ("module:\n  Linear: [4, 2\n  # <", "", "YAML: expected ',' or ']'"),
    "duplicate key": ("module: ReLU\nmodule: Tanh  # <\n", "module", "duplicate key"),
    "unsafe tag": ("module: !!python/object/apply:os.system [ls]  # <\n", "module", "unsupported YAML tag"),
    "missing include": ("module: !include nowhere.yaml  # <\n", "module", "!include: no such file"),
    "empty include": ("module: !include ''  # <\n", "module", "!include needs a file path"),
    "section not a mapping": ("model: [ReLU]  # <\n", "model", "a model section is a mapping"),
    "node with two keys": (
        "module:\n  Sequential:\n    - {Linear: [4, 2], ReLU: null}  # <\n",
        "module.Sequential.0",
        "one layer name mapped to its arguments",
    ),
    "node is a number": ("module:\n  Sequential:\n    - 3  # <\n", "module.Sequential.0", "got 3"),
    "Sequential of a scalar": ("module:\n  Sequential: 3  # <\n", "module.Sequential", "a list or a mapping"),
    "ModuleDict of a list": ("module:\n  ModuleDict: [ReLU]  # <\n", "module.ModuleDict", "a mapping"),
    "bad Repeat times": (
        "module:\n  Repeat: {times: -1,  # <\n    node: ReLU}\n",
        "module.Repeat.times",
        "times must be an int from 0 to 10,000, got -1",
    ),
    "a billion Repeat times": (
        "module:\n  Repeat: {times: 1000000000,  # <\n    node: ReLU}\n",
        "module.Repeat.times",
        "times must be an int from 0 to 10,000",
    ),
    "bad Repeat form": ("module:\n  Repeat: [3, ReLU]  # <\n", "module.Repeat", "{times: N, node: NODE}"),
    "dotted path disabled": (
        "module:\n  os.system: [ls]  # <\n",
        "module.os.system",
        "not imported by dotted",
    ),
    "auto without input_shape": (
        "module:\n  Linear: {in_features: auto, out_features: 2}  # <\n",
        "module.Linear",
        "need input_shape",
    ),
    "auto on unsupported argument": (
        "input_shape: [4]\nmodule:\n  Linear: {in_features: 4, out_features: auto}  # <\n",
        "module.Linear.out_features",
        "'auto' works only for",
    ),
    "shape mismatch": (
        "input_shape: [8]\nmodule:\n  Sequential:\n    - {Linear: [8, 4]}\n    - {Linear: [5, 2]}  # <\n",
        "model.1 (Linear)",
        "expected input [*, 5], got [*, 4]",
    ),
    "shape mismatch in a block": (
        BLOCK + "input_shape: [3]\nmodule: {Res: 4}\n",
        "model.fc (Linear)",
        "expected input [*, 4], got [*, 3]",
    ),
    "missing import": ("imports: [no_such_module_xyz]  # <\nmodule: ReLU\n", "imports.0", "cannot import"),
    "block shadows a layer": (
        "blocks:\n  Linear: {modules: {a: ReLU}}  # <\nmodule: ReLU\n",
        "blocks.Linear",
        "already a layer name",
    ),
    "unknown block arg type": (
        "blocks:\n  B:\n    args: {n: integr}  # <\n    modules: {a: ReLU}\nmodule: B\n",
        "blocks.B.args.n",
        "did you mean int?",
    ),
    "unknown block key": (
        "blocks:\n  B:\n    modules: {a: ReLU}\n    froward: []  # <\nmodule: B\n",
        "blocks.B.froward",
        "did you mean forward?",
    ),
    "missing block argument": (
        BLOCK + "module: {Res: {}}  # <\n",
        "module.Res.width",
        "missing required argument 'width'",
    ),
    "unknown block argument": (
        BLOCK + "module: {Res: {width: 3, widht: 3}}  # <\n",
        "module.Res.widht",
        "did you mean width?",
    ),
    "wrong block argument type": (BLOCK + "module: {Res: [three]}  # <\n", "module.Res.width", "must be int"),
    "unknown substitution": (
        (
            "blocks:\n  B:\n    args: {width: int}\n    modules:\n"
            "      fc: {Linear: [2, '${widht}']}  # <\nmodule: {B: 2}\n"
        ),
        "blocks.B.modules.fc.Linear.1",
        "unknown argument 'widht'",
    ),
    "substitution outside a block": (
        "module:\n  Linear: [2, '${n}']  # <\n",
        "module.Linear.out_features",
        "must be int",
    ),
    "forward syntax error": (
        (
            "blocks:\n  B:\n    modules: {fc: {Linear: [2, 2]}}\n    forward:\n"
            "      - y = fc(x  # <\n      - return y\nmodule: B\n"
        ),
        "blocks.B.forward.0",
        "syntax error",
    ),
    "undefined variable": (
        (
            "blocks:\n  B:\n    modules: {fc: {Linear: [2, 2]}}\n    forward:\n      - y = fc(x)\n"
            "      - return fc(z)  # <\nmodule: B\n"
        ),
        "blocks.B.forward.1",
        "undefined name 'z'",
    ),
    "disallowed call": (
        (
            "blocks:\n  B:\n    modules: {fc: {Linear: [2, 2]}}\n    forward:\n"
            "      - return __import__('os')  # <\nmodule: B\n"
        ),
        "blocks.B.forward.0",
        "'__import__' is not a child or an allowed function",
    ),
    "eval is not allowed": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - return eval('fc(x)')  # <\n",
        "forward.0",
        "not a child or an allowed function",
    ),
    "dunder attribute": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - return x.__class__  # <\n",
        "forward.0",
        "is not allowed in forward",
    ),
    "lambda": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - 'f = lambda v: v'  # <\n  - return x\n",
        "forward.0",
        "is not allowed in forward",
    ),
    "import statement": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - import os  # <\n  - return x\n",
        "forward.0",
        "only 'name = expression'",
    ),
    "misspelt child": (
        "modules: {conv1: {Linear: [2, 2]}}\nforward:\n  - return cnv1(x)  # <\n",
        "forward.0",
        "did you mean conv1?",
    ),
    "no return": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - y = fc(x)  # <\n",
        "forward.0",
        "must end with a 'return'",
    ),
    "assign to a child name": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - fc = fc(x)  # <\n  - return fc\n",
        "forward.0",
        "names a child",
    ),
    "condition on a variable": (
        "modules: {fc: {Linear: [2, 2]}}\nforward:\n  - return x if x else fc(x)  # <\n",
        "forward.0",
        "only 'a if child else b'",
    ),
    "absent child called": (
        (
            "blocks:\n  B:\n    args: {d: {type: node, default: null}}\n    modules: {d: '${d}'}\n"
            "    forward:\n      - return d(x)  # <\nmodule: B\n"
        ),
        "blocks.B.forward.0",
        "'d' is null here",
    ),
    "cyclic blocks": (
        "blocks:\n  A: {modules: {b: B}}\n  B: {modules: {a: A}}  # <\nmodule: A\n",
        "blocks.B.modules.a",
        "cyclic block use: A -> B -> A",
    ),
    "self-recursive block": (
        "blocks:\n  A: {modules: {again: {Sequential: [ReLU, A]}}}  # <\nmodule: A\n",
        "blocks.A.modules.again.Sequential.1",
        "cyclic block use: A -> A",
    ),
}


def _expected_line(text):
    for number, line in enumerate(text.splitlines(), start=1):
        if "# <" in line:
            return number
    return 1


@pytest.mark.parametrize("name", list(CASES))
def test_broken_config_is_reported_at_its_place(name):
    text, path, message = CASES[name]
    with pytest.raises(ConfigError) as info:
        load(text)
    errors = info.value.errors
    matching = [e for e in errors if e.path == path and message in e.message]
    assert matching, f"no error at {path!r} containing {message!r}; got:\n{info.value}"
    expected_line = 5 if name == "shape mismatch in a block" else _expected_line(text)  # the block's fc
    assert matching[0].line == expected_line, str(info.value)
    assert matching[0].column >= 1
    assert str(matching[0]).startswith(f"<string>:{matching[0].line}:{matching[0].column}: ")


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_all_errors_are_reported_at_once():
    text = (
        "modules:\n  a: {Linaer: [2, 2]}\n  b: {Linear: {in_features: 2, out_featres: 2}}\n  c: {Relu: {}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load(text)
    assert [(e.path, e.line) for e in info.value.errors] == [
        ("modules.a.Linaer", 2),
        ("modules.b.Linear.out_features", 3),
        ("modules.b.Linear.out_featres", 3),
        ("modules.c.Relu", 4),
    ]
    assert "did you mean ReLU" in info.value.errors[-1].message
    assert str(info.value).count("\n") == 3


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("module:\n  Linaer: [4, 2]\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    (error,) = info.value.errors
    assert (error.file, error.line, error.column) == (str(path), 2, 3)
    expected = "module.Linaer: unknown layer 'Linaer' (did you mean Linear or "  # then the other near names
    assert str(info.value).startswith(f"{path}:2:3: {expected}")


def test_error_inside_an_included_file_names_that_file(tmp_path):
    (tmp_path / "net.yaml").write_text("module:\n  Sequential: [ReLU, {Linear: [2]}]\n")
    (tmp_path / "train.yaml").write_text("model: !include net.yaml\n")
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "train.yaml")
    (error,) = info.value.errors
    assert error.file == str(tmp_path / "net.yaml") and error.line == 2
    assert error.path == "model.module.Sequential.1.Linear.out_features"


def test_include_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("module: !include b.yaml\n")
    (tmp_path / "b.yaml").write_text("Sequential: [!include a.yaml]\n")
    with pytest.raises(ConfigError, match="!include cycle"):
        load(tmp_path / "a.yaml")


def test_missing_file():
    with pytest.raises(ConfigError, match="cannot read the file"):
        load("no/such/config.yaml")
