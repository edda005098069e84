"""Images that are not digits, made on the spot, for checking that the evaluator does not call them digits:
uniform noise, blank pages, Gaussian blobs (what a generator draws in its first few hundred steps) and typed
letters (EMNIST-like shapes, drawn with Pillow's built-in font). Each returns uint8 (N, 28, 28)."""

from __future__ import annotations

import numpy as np

LETTERS = "ABCDEFGHJKMNPQRTUVWXYZabdefhkmnqrtwy"  # letters only: no I, L, O, S, l, o, s, which are drawn like digits


def noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random pixels."""
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)


def blank(n: int, rng: np.random.Generator, value: int = 0) -> np.ndarray:
    """Empty pages of one grey value."""
    return np.full((n, 28, 28), value, np.uint8)


def blobs(n: int, rng: np.random.Generator) -> np.ndarray:
    """One to three soft round blobs, radii 2 to 5 pixels, centred in the digit area."""
    yy, xx = np.mgrid[0:28, 0:28]
    out = np.zeros((n, 28, 28))
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(6, 22, 2)
            s = rng.uniform(2, 5)
            out[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def letters(n: int, rng: np.random.Generator) -> np.ndarray:
    """Typed letters, white on black, bold (1-pixel stroke), jittered by up to 2 pixels."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=22)
    out = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        image = Image.new("L", (28, 28))
        x, y = 14 + rng.integers(-2, 3), 14 + rng.integers(-2, 3)
        char = LETTERS[rng.integers(len(LETTERS))]
        ImageDraw.Draw(image).text((x, y), char, fill=255, font=font, anchor="mm", stroke_width=1, stroke_fill=255)
        out[i] = np.asarray(image)
    return out


PROBES = {"noise": noise, "blank": blank, "blobs": blobs, "letters": letters}
