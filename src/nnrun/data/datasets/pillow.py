"""Pillow, the optional image decoder (``pip install 'nnrun[images]'``): imported here, on first use, so that
nnrun imports and trains on other data without it, and a missing Pillow is one clear message."""

from __future__ import annotations

from types import ModuleType

from nnrun.data.errors import DatasetError

MISSING = (
    "reading image files needs Pillow, which is not installed: pip install 'nnrun[images]' "
    "(or pip install 'Pillow>=10'), then run again."
)


def pillow_image() -> ModuleType:
    """``PIL.Image``; a :class:`DatasetError` saying how to install Pillow when it is missing."""
    try:
        from PIL import Image
    except ImportError:
        raise DatasetError(MISSING) from None
    return Image
