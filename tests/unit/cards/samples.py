"""Test data for the cards tests: ID numbers and card photos, made on the spot."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
from PIL import Image

from shebao.identity.id_number import id_number_check_char


def id_number(area: str = "440113", birth: date = date(1990, 1, 1), sequence: int = 1) -> str:
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def photo(
    width: int = 358,
    height: int = 441,
    *,
    background: int = 245,
    noise: float = 5.0,
    quality: int = 75,
    corner_object: bool = False,
    seed: int = 1,
    fmt: str = "JPEG",
    mode: str = "RGB",
) -> bytes:
    """An ID-photo-like image: a plain background, a face, shoulders, some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), dtype=np.float64)
    img[:] = background
    face = ((xx - width / 2) / (width * 0.2)) ** 2 + ((yy - height * 0.4) / (height * 0.21)) ** 2
    img[face < 1] = (225, 185, 160)
    img[(yy > height * 0.68) & (np.abs(xx - width / 2) < width * 0.36)] = (40, 50, 100)
    texture = rng.normal(0, noise, img.shape)
    texture[yy < height * 0.18] *= 0.15
    img += texture
    if corner_object:
        img[: height // 12, : width // 8] = (150, 120, 90)
    image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()
