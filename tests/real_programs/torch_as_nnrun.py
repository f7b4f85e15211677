"""An import hook that lets a PyTorch program run on nnrun unchanged: ``import torch`` (and ``torch.nn``,
``torch.nn.functional``, ``torch.optim.lr_scheduler``, ``torch.utils.data``, ...) gives the nnrun module of
the same dotted name under ``nnrun``. It lives in the tests on purpose: nnrun itself never poses as torch.

What nnrun has no counterpart for fails as a missing module would, naming the torch module: a ``torch.X``
whose ``nnrun.X`` does not exist, and the companion packages (torchvision, torchtext, torchaudio, ...) that
would otherwise load the real torch behind the hook.

Use: ``python torch_as_nnrun.py PROGRAM [ARGS...]`` runs PROGRAM as ``__main__`` with the hook installed, or
:func:`install` from Python.
"""

import importlib
import importlib.abc
import importlib.util
import runpy
import sys

# Packages built on torch that nnrun does not replace; importing them under the hook would mix real torch in.
COMPANIONS = ("torchvision", "torchtext", "torchaudio", "torchdata", "functorch", "torch_geometric")


class _Alias(importlib.abc.Loader):
    """Loads ``torch.X`` as the already-imported ``nnrun.X``: the module object itself, not a copy, so that
    ``torch.nn.Module is nnrun.nn.Module``."""

    def __init__(self, target):
        self.target = target
        self.target_spec = target.__spec__

    def create_module(self, spec):
        return self.target

    def exec_module(self, module):
        # importlib stamped the torch spec on the nnrun module while creating it: give nnrun its own back.
        module.__spec__ = self.target_spec


class TorchAsNnrun(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder: ``torch[.X]`` becomes ``nnrun[.X]``; companions of torch are refused."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in COMPANIONS:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (nnrun does not provide {top})", name=fullname
            )
        if top != "torch":
            return None
        alias = "nnrun" + fullname[len("torch") :]
        try:
            module = importlib.import_module(alias)
        except ModuleNotFoundError as error:
            if error.name is not None and error.name != alias and not alias.startswith(error.name + "."):
                raise  # a real dependency of the nnrun module is missing: not this hook's business
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (nnrun has no {alias!r})", name=fullname
            ) from None
        return importlib.util.spec_from_loader(
            fullname, _Alias(module), is_package=hasattr(module, "__path__")
        )


def install():
    """Puts the finder first on ``sys.meta_path`` (once); fails if the real torch is already imported."""
    if any(isinstance(finder, TorchAsNnrun) for finder in sys.meta_path):
        return
    if "torch" in sys.modules:
        raise RuntimeError("torch is already imported: install the hook before the program imports torch")
    sys.meta_path.insert(0, TorchAsNnrun())


def main(argv):
    """Runs ``argv[0]`` as ``__main__`` under the hook, with ``argv`` as its ``sys.argv``."""
    install()
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
