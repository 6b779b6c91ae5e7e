"""Drawing helpers shared by the sample-world renderers: colours, gradients, perspective windows.

Every renderer draws on a square canvas of side `c` pixels and places shapes in fractions of it,
so the same scene can be drawn at any resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Color = tuple[int, int, int]


def clamp_color(values: Sequence[float]) -> Color:
    """Round and clip three channel values to a valid 8-bit RGB colour."""
    return (
        int(min(255, max(0, round(values[0])))),
        int(min(255, max(0, round(values[1])))),
        int(min(255, max(0, round(values[2])))),
    )


def mix(a: Color, b: Color, t: float) -> Color:
    """Linear blend of two colours: t=0 gives a, t=1 gives b."""
    return clamp_color([a[i] * (1.0 - t) + b[i] * t for i in range(3)])


def shade(color: Color, factor: float) -> Color:
    """Scale a colour's brightness (factor < 1 darker, > 1 lighter)."""
    return clamp_color([c * factor for c in color])


def jitter_color(color: Color, rng: np.random.Generator, amount: float) -> Color:
    """A colour moved by up to `amount` (0-255 units) per channel."""
    return clamp_color([c + rng.uniform(-amount, amount) for c in color])


def hsv_color(hue: float, sat: float, val: float) -> Color:
    """An RGB colour from hue, saturation, value in [0, 1]."""
    hue = hue % 1.0
    i = int(hue * 6.0)
    f = hue * 6.0 - i
    p, q, t = val * (1 - sat), val * (1 - sat * f), val * (1 - sat * (1 - f))
    r, g, b = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)][i % 6]
    return clamp_color([r * 255, g * 255, b * 255])


def vertical_gradient(width: int, height: int, top: Color, bottom: Color) -> np.ndarray:
    """(height, width, 3) float32 array blending `top` into `bottom` from the first to the last row."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top_arr = np.asarray(top, dtype=np.float32)[None, None, :]
    bottom_arr = np.asarray(bottom, dtype=np.float32)[None, None, :]
    column = top_arr * (1.0 - t) + bottom_arr * t
    return np.broadcast_to(column, (height, width, 3)).copy()


def to_image(array: np.ndarray) -> Image.Image:
    """(H, W, 3) float array in 0-255 to an RGB PIL image (clipped)."""
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="RGB")


def poly(
    draw: ImageDraw.ImageDraw,
    c: int,
    points: Sequence[tuple[float, float]],
    fill: Color,
    outline: Color | None = None,
) -> None:
    """Polygon with corners given in canvas fractions."""
    draw.polygon([(x * c, y * c) for x, y in points], fill=fill, outline=outline)


def rect(
    draw: ImageDraw.ImageDraw,
    c: int,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    fill: Color,
    outline: Color | None = None,
    width: int = 1,
) -> None:
    """Axis-aligned rectangle given in canvas fractions (corners in any order)."""
    xa, xb = sorted((x0 * c, x1 * c))
    ya, yb = sorted((y0 * c, y1 * c))
    draw.rectangle([xa, ya, xb, yb], fill=fill, outline=outline, width=width)


def ellipse(
    draw: ImageDraw.ImageDraw,
    c: int,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    fill: Color | None,
    outline: Color | None = None,
    width: int = 1,
) -> None:
    """Ellipse centred at (cx, cy) with radii (rx, ry), in canvas fractions."""
    rx, ry = abs(rx), abs(ry)
    draw.ellipse(
        [(cx - rx) * c, (cy - ry) * c, (cx + rx) * c, (cy + ry) * c], fill=fill, outline=outline, width=width
    )


def line(
    draw: ImageDraw.ImageDraw, c: int, points: Sequence[tuple[float, float]], fill: Color, width: float
) -> None:
    """Polyline in canvas fractions; `width` is a fraction of the canvas too (at least 1 px)."""
    draw.line([(x * c, y * c) for x, y in points], fill=fill, width=max(1, round(width * c)))


def arch(draw: ImageDraw.ImageDraw, c: int, x0: float, y0: float, x1: float, y1: float, fill: Color) -> None:
    """A round-topped opening (door, window, arcade) filling the box x0..x1, y0..y1."""
    r = (x1 - x0) / 2.0
    ellipse(draw, c, (x0 + x1) / 2.0, y0 + r, r, r, fill)
    rect(draw, c, x0, y0 + r, x1, y1, fill)


def pointed_arch(
    draw: ImageDraw.ImageDraw, c: int, x0: float, y0: float, x1: float, y1: float, fill: Color
) -> None:
    """A gothic (pointed) opening filling the box x0..x1, y0..y1."""
    w = x1 - x0
    top = y0 + 1.2 * w
    points = [(x0, y1), (x0, top)]
    for k in range(1, 8):
        a = k / 8.0 * math.pi / 2
        points.append((x0 + w / 2 * (1 - math.cos(a)) * 1.0, top - (top - y0) * math.sin(a)))
    points.append(((x0 + x1) / 2, y0))
    for k in range(7, 0, -1):
        a = k / 8.0 * math.pi / 2
        points.append((x1 - w / 2 * (1 - math.cos(a)), top - (top - y0) * math.sin(a)))
    points += [(x1, top), (x1, y1)]
    poly(draw, c, points, fill)


def perspective_coeffs(src: Sequence[tuple[float, float]], out_size: int) -> tuple[float, ...]:
    """PIL PERSPECTIVE coefficients that map the output square's corners onto `src` (4 input points).

    src: corners in input pixels, in the order top-left, top-right, bottom-right, bottom-left.
    """
    dst = [(0.0, 0.0), (out_size, 0.0), (out_size, out_size), (0.0, out_size)]
    matrix, vector = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    solution = np.linalg.solve(np.asarray(matrix, dtype=np.float64), np.asarray(vector, dtype=np.float64))
    return tuple(float(s) for s in solution)


def view_window(
    c: int, cx: float, cy: float, half: float, angle_deg: float, tilt: tuple[float, float, float, float]
) -> list[tuple[float, float]]:
    """The 4 input-pixel corners of a camera window on a canvas of side c.

    (cx, cy) centre and `half` half-side in canvas fractions, rotated by angle_deg, each corner moved
    by `tilt` (fractions of half, inward-positive) for a small perspective change.
    """
    a = math.radians(angle_deg)
    cos_a, sin_a = math.cos(a), math.sin(a)
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    out = []
    for (sx, sy), t in zip(corners, tilt, strict=True):
        dx, dy = sx * half * (1 - t), sy * half
        out.append(((cx + dx * cos_a - dy * sin_a) * c, (cy + dx * sin_a + dy * cos_a) * c))
    return out
