"""Pictures of a 2-D run: generated points over the real ones, with D's output as a contour behind them.

Training writes one frame per snapshot into the run's progress folder (the same fixed noise every time, so the
frames show G moving onto the modes and D's islands around them), the last frame as mixture.png and all of them as
mixture.gif. D's output at a point x is sigmoid(D) of a pack of `pack` copies of x (PacGAN's D judges packs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from mnistgan.files import save_figure
from mnistgan.mixtures import GaussianMixture


def view_limits(mixture: GaussianMixture) -> tuple[float, float]:
    """Axis limits that hold every mode with a margin: the ring at +-1.5, the grid at +-6 (PacGAN's Figure 2)."""
    reach = float(np.abs(mixture.means).max())
    return -1.5 * reach, 1.5 * reach


@torch.no_grad()
def d_surface(D: nn.Module, pack: int, lo: float, hi: float, n: int = 90, chunk: int = 512) -> np.ndarray:
    """sigmoid(D) on an n x n grid over [lo, hi]^2 (rows: y, columns: x) (n, n); D sees `pack` copies of each point,
    in chunks of `chunk` rows (a multiple of pack and of any minibatch-layer group: the training batch size)."""
    was_training = D.training
    D.eval()
    axis = torch.linspace(lo, hi, n)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    device = next(D.parameters()).device
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1).repeat_interleave(pack, dim=0).to(device)
    out = []
    for start in range(0, len(points), chunk):
        rows = points[start : start + chunk]
        short = chunk - len(rows)
        if short:  # pad the last chunk to the full size with copies of its first row
            rows = torch.cat([rows, rows[:1].expand(short, -1)])
        logits = D(rows).reshape(-1)
        out.append(torch.sigmoid(logits[: (chunk - short) // pack]).float().cpu())
    D.train(was_training)
    return torch.cat(out).reshape(n, n).numpy()


def draw_frame(
    path: Path,
    fake: np.ndarray,
    real: np.ndarray,
    mixture: GaussianMixture,
    surface: np.ndarray | None = None,
    title: str = "",
    size: int = 360,
) -> None:
    """One frame, drawn with PIL (a matplotlib figure costs ~50x more, and training draws dozens): D's output as
    the background (blue 0, white 0.5, red 1: matplotlib's coolwarm), real points grey, generated points black,
    the 3-std circle of each mode (the protocol's high-quality region) in red, the title on top."""
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    lo, hi = view_limits(mixture)
    top = 16  # title strip
    canvas = Image.new("RGB", (size, size + top), "white")
    if surface is not None:  # rows of `surface` run up in y; image rows run down
        rgb = (colormaps["coolwarm"](np.clip(surface[::-1], 0, 1))[..., :3] * 255).astype(np.uint8)
        shade = Image.fromarray(rgb).resize((size, size), Image.BILINEAR)
        canvas.paste(Image.blend(Image.new("RGB", (size, size), "white"), shade, 0.6), (0, top))
    draw = ImageDraw.Draw(canvas)

    def pixels(xy: np.ndarray) -> np.ndarray:
        u = (np.asarray(xy, dtype=np.float64) - lo) / (hi - lo) * (size - 1)
        return np.stack([u[:, 0], top + (size - 1) - u[:, 1]], axis=1)

    for (x, y), colour, r in ((pixels(real).T, (150, 150, 150), 1), (pixels(fake).T, (0, 0, 0), 1)):
        keep = (x >= 0) & (x < size) & (y >= top) & (y < size + top)
        for a, b in zip(x[keep], y[keep]):
            draw.rectangle([a - r + 1, b - r + 1, a + r, b + r], fill=colour)
    radius = 3 * mixture.std / (hi - lo) * (size - 1)
    for a, b in pixels(mixture.means):
        draw.ellipse([a - radius - 1, b - radius - 1, a + radius + 1, b + radius + 1], outline=(214, 39, 40))
    draw.text((4, 2), title, fill=(0, 0, 0))
    draw.rectangle([0, top, size - 1, size + top - 1], outline=(0, 0, 0))
    from mnistgan.files import atomic_write_buffered

    atomic_write_buffered(path, lambda buffer: canvas.save(buffer, format="PNG"))


def _circle(x: float, y: float, r: float):  # noqa: ANN202 - a matplotlib patch
    from matplotlib.patches import Circle

    return Circle((x, y), r, fill=False, color="tab:red", linewidth=0.6)


def side_by_side(
    path: Path, panels: list[tuple[str, np.ndarray, np.ndarray, GaussianMixture]], columns: int, dpi: int = 110
) -> None:
    """A grid of scatter panels (title, generated, real, mixture), `columns` wide: the docs' comparison figure."""
    from matplotlib.figure import Figure  # the object API: no pyplot, no backend switch, no global figure state

    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(3.3 * columns, 3.3 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, (title, fake, real, mixture) in zip(axes.flat, panels):
        lo, hi = view_limits(mixture)
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.6", alpha=0.4, linewidths=0)
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="k", alpha=0.5, linewidths=0)
        for cx, cy in mixture.means:
            ax.add_patch(_circle(cx, cy, 3 * mixture.std))
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
        ax.set_title(title, fontsize=8)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path, dpi=dpi)
