"""Decoding one image file into a uint8 array (C, H, W): Pillow reads it, converts it to grayscale or RGB,
resizes and centre-crops it like torchvision's ``Resize`` and ``CenterCrop``.

- ``size``: ``[H, W]`` resizes to exactly that; an int ``S`` resizes the shorter side to ``S`` and the longer
  one to ``int(S * long / short)``, keeping the aspect ratio. Bilinear, with Pillow's antialiasing.
- ``center_crop``: ``[H, W]`` or an int for a square; the crop is centred (offsets rounded like
  torchvision's); a crop larger than the image pads it with zeros first, as torchvision does.
- ``channels``: 1 (Pillow mode ``L``) or 3 (``RGB``; an alpha channel is dropped, a palette expanded).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnrun.data.datasets.pillow import pillow_image
from nnrun.data.errors import DatasetError

#: File name endings read as images (case-insensitive): what torchvision's ImageFolder reads, and GIF.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")


def is_image_file(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def _pair(value: int | list[int] | tuple[int, ...] | None) -> tuple[int, int] | None:
    if value is None or isinstance(value, int):
        return None if value is None else (value, value)
    return int(value[0]), int(value[1])


@dataclass(frozen=True)
class Decoding:
    """How image files become arrays: ``size``, ``center_crop`` and ``channels`` (see the module)."""

    size: int | tuple[int, int] | None = None
    center_crop: tuple[int, int] | None = None
    channels: int = 3

    @classmethod
    def of(cls, settings: dict[str, Any]) -> Decoding:
        """The decoding of a preprocessing dict or of ``data.options`` (lists read as pairs)."""
        size = settings.get("size")
        return cls(
            size=size if size is None or isinstance(size, int) else _pair(size),
            center_crop=_pair(settings.get("center_crop")),
            channels=int(settings.get("channels", 3)),
        )

    def resized(self, width: int, height: int) -> tuple[int, int]:
        """``(height, width)`` after ``size``."""
        if self.size is None:
            return height, width
        if isinstance(self.size, tuple):
            return self.size
        short, long = min(width, height), max(width, height)
        new_short, new_long = self.size, int(self.size * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)

    def shape(self, width: int, height: int) -> tuple[int, int, int]:
        """``(C, H, W)`` of a ``width`` × ``height`` image once decoded."""
        h, w = self.center_crop if self.center_crop is not None else self.resized(width, height)
        return self.channels, h, w


def image_size(path: str) -> tuple[int, int]:
    """``(width, height)`` from the file's header (the pixels are not decoded)."""
    image_module = pillow_image()
    try:
        with image_module.open(path) as image:
            return image.size
    except Exception as error:  # Pillow signals a bad file in many ways (OSError, SyntaxError, ValueError…)
        raise DatasetError(_unreadable(path, error)) from None


def decode(path: str, decoding: Decoding) -> np.ndarray:
    """The image at ``path`` as uint8 (C, H, W); a :class:`DatasetError` names a file Pillow cannot read."""
    image_module = pillow_image()
    try:
        with image_module.open(path) as image:
            converted = image.convert("L" if decoding.channels == 1 else "RGB")
        width, height = converted.size
        h, w = decoding.resized(width, height)
        if (h, w) != (height, width):
            converted = converted.resize((w, h), image_module.Resampling.BILINEAR)
        pixels = np.asarray(converted, dtype=np.uint8)
    except DatasetError:
        raise
    except Exception as error:  # a truncated or corrupt file fails only when its pixels are read
        raise DatasetError(_unreadable(path, error)) from None
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
    if decoding.center_crop is not None:
        pixels = _center_crop(pixels, *decoding.center_crop)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def _center_crop(pixels: np.ndarray, crop_h: int, crop_w: int) -> np.ndarray:
    """The centred ``crop_h`` × ``crop_w`` window of (H, W, C) ``pixels``, zero-padded where it is larger."""
    h, w = pixels.shape[:2]
    if crop_h > h or crop_w > w:
        pad_h, pad_w = max(crop_h - h, 0), max(crop_w - w, 0)
        pixels = np.pad(pixels, ((pad_h // 2, (pad_h + 1) // 2), (pad_w // 2, (pad_w + 1) // 2), (0, 0)))
        h, w = pixels.shape[:2]
    top, left = round((h - crop_h) / 2.0), round((w - crop_w) / 2.0)
    return pixels[top : top + crop_h, left : left + crop_w]


def _unreadable(path: str, error: Exception) -> str:
    reason = str(error) or type(error).__name__
    if isinstance(error, FileNotFoundError) and os.path.islink(path):
        reason = f"a symbolic link to {os.readlink(path)}, which does not exist"
    return f"{path}: not a readable image ({reason}); replace the file or remove it from the folder."
