"""Buildings seen from outside: cathedral, domed basilica, mosque, temple, castle, pagoda, arch, town hall.

Each drawer paints one building standing on the horizon line `h` (a canvas fraction), centred, on an
RGBA canvas of side c; `s` are the landmark's 8 shape numbers in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import ImageDraw

from samples.render.canvas import (
    Color,
    arch,
    ellipse,
    line,
    pointed_arch,
    poly,
    rect,
    shade,
)
from samples.render.specs import Palette

DARK: Color = (28, 24, 30)


def masonry(
    draw: ImageDraw.ImageDraw,
    c: int,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    color: Color,
    step: float = 0.03,
) -> None:
    """Faint horizontal courses of stone on a wall."""
    y = y0 + step
    while y < y1:
        line(draw, c, [(x0, y), (x1, y)], shade(color, 0.9), 0.003)
        y += step


def window_grid(
    draw: ImageDraw.ImageDraw,
    c: int,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    rows: int,
    cols: int,
    color: Color,
    rounded: bool = False,
) -> None:
    """A regular grid of windows inside the box."""
    cw, rh = (x1 - x0) / cols, (y1 - y0) / rows
    for r in range(rows):
        for k in range(cols):
            wx0, wy0 = x0 + k * cw + cw * 0.25, y0 + r * rh + rh * 0.2
            wx1, wy1 = x0 + (k + 1) * cw - cw * 0.25, y0 + (r + 1) * rh - rh * 0.15
            (arch if rounded else rect)(draw, c, wx0, wy0, wx1, wy1, color)


def block_building(
    draw: ImageDraw.ImageDraw,
    c: int,
    x0: float,
    x1: float,
    top: float,
    h: float,
    wall: Color,
    window: Color,
    roof: Color,
    rows: int,
    cols: int,
    roof_kind: int,
) -> None:
    """An ordinary building: walls, a grid of windows, a flat (0), gabled (1) or mansard (2) roof."""
    rect(draw, c, x0, top, x1, h, wall)
    if roof_kind == 1:
        poly(draw, c, [(x0 - 0.01, top), ((x0 + x1) / 2, top - (x1 - x0) * 0.3), (x1 + 0.01, top)], roof)
    elif roof_kind == 2:
        poly(
            draw,
            c,
            [(x0 - 0.005, top), (x0 + 0.03, top - 0.06), (x1 - 0.03, top - 0.06), (x1 + 0.005, top)],
            roof,
        )
    else:
        rect(draw, c, x0 - 0.008, top - 0.015, x1 + 0.008, top, roof)
    window_grid(draw, c, x0 + 0.01, top + 0.02, x1 - 0.01, h - 0.08, rows, cols, window)
    rect(draw, c, (x0 + x1) / 2 - 0.03, h - 0.08, (x0 + x1) / 2 + 0.03, h, shade(window, 0.6))


def cathedral(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    tower_top, apex = 0.3 - 0.1 * s[0], 0.1 - 0.06 * s[0]
    half = 0.2 + 0.06 * s[1]
    rect(draw, c, 0.5 - half, 0.42, 0.5 + half, h, p.wall)
    masonry(draw, c, 0.5 - half, 0.42, 0.5 + half, h, p.wall)
    poly(draw, c, [(0.5 - half + 0.06, 0.43), (0.5, 0.3 - 0.05 * s[2]), (0.5 + half - 0.06, 0.43)], p.roof)
    for x in (0.5 - half - 0.02, 0.5 + half - 0.12):
        rect(draw, c, x, tower_top, x + 0.14, h, shade(p.wall, 0.92))
        poly(draw, c, [(x - 0.01, tower_top), (x + 0.07, apex), (x + 0.15, tower_top)], p.roof)
        for k in range(3):
            pointed_arch(
                draw,
                c,
                x + 0.045,
                tower_top + 0.04 + k * 0.12,
                x + 0.095,
                tower_top + 0.11 + k * 0.12,
                DARK if k else p.glass,
            )
    ellipse(draw, c, 0.5, 0.5, 0.07, 0.07, p.trim)
    ellipse(draw, c, 0.5, 0.5, 0.058, 0.058, p.glass)
    for k in range(8):
        a = k * math.pi / 4
        line(draw, c, [(0.5, 0.5), (0.5 + 0.058 * math.cos(a), 0.5 + 0.058 * math.sin(a))], p.trim, 0.006)
    pointed_arch(draw, c, 0.45, 0.62, 0.55, h, DARK)
    rect(draw, c, 0.5 - half, 0.6, 0.5 + half, 0.605, p.trim)


def basilica(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    rect(draw, c, 0.16, 0.52, 0.84, h, p.wall)
    masonry(draw, c, 0.16, 0.52, 0.84, h, p.wall)
    rect(draw, c, 0.37, 0.34, 0.63, 0.53, shade(p.wall, 0.95))
    ry = 0.12 + 0.08 * s[0]
    ellipse(draw, c, 0.5, 0.35, 0.15, ry, p.roof)
    rect(draw, c, 0.33, 0.35, 0.67, 0.36 + ry, shade(p.wall, 0.95))
    for k in range(6):
        x = 0.39 + k * 0.045
        arch(draw, c, x, 0.39, x + 0.022, 0.47, DARK)
        line(
            draw,
            c,
            [(0.5 + (x - 0.5) * 1.1, 0.34), (0.5 + (x + 0.01 - 0.5) * 0.4, 0.35 - ry)],
            shade(p.roof, 0.8),
            0.004,
        )
    rect(draw, c, 0.485, 0.35 - ry - 0.06, 0.515, 0.35 - ry + 0.01, p.trim)
    ellipse(draw, c, 0.5, 0.35 - ry - 0.06, 0.02, 0.015, p.roof)
    line(draw, c, [(0.5, 0.35 - ry - 0.08), (0.5, 0.35 - ry - 0.12)], p.accent, 0.006)
    poly(draw, c, [(0.3, 0.6), (0.5, 0.5), (0.7, 0.6)], p.trim)
    for k in range(6):
        rect(draw, c, 0.315 + k * 0.07, 0.6, 0.335 + k * 0.07, h, p.trim)
    rect(draw, c, 0.3, 0.6, 0.7, 0.62, shade(p.trim, 0.9))


def mosque(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    rect(draw, c, 0.24, 0.56, 0.76, h, p.wall)
    r = 0.15 + 0.04 * s[0]
    ellipse(draw, c, 0.5, 0.5, r, r * 1.1, p.roof)
    poly(
        draw,
        c,
        [(0.5 - 0.03, 0.5 - r * 1.05), (0.5, 0.5 - r * 1.1 - 0.06), (0.5 + 0.03, 0.5 - r * 1.05)],
        p.roof,
    )
    rect(draw, c, 0.3, 0.5, 0.7, 0.57, p.wall)
    for x in (0.3, 0.7):
        ellipse(draw, c, x, 0.56, 0.06, 0.06, p.roof)
        rect(draw, c, x - 0.06, 0.56, x + 0.06, 0.6, p.wall)
    for k in range(7):
        pointed_arch(draw, c, 0.27 + k * 0.067, 0.64, 0.30 + k * 0.067, h - 0.02, DARK)
    n = 4 if s[1] > 0.5 else 2
    xs = (0.08, 0.92, 0.2, 0.8)[:n]
    for x in xs:
        top = 0.12 + 0.08 * s[2] + (0.08 if abs(x - 0.5) < 0.35 else 0)
        rect(draw, c, x - 0.018, top, x + 0.018, h, p.trim)
        rect(draw, c, x - 0.03, top + 0.12, x + 0.03, top + 0.135, p.accent)
        rect(draw, c, x - 0.03, top + 0.3, x + 0.03, top + 0.315, p.accent)
        poly(draw, c, [(x - 0.022, top), (x, top - 0.08), (x + 0.022, top)], p.roof)


def temple(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    for k in range(3):
        rect(
            draw,
            c,
            0.12 + k * 0.015,
            h - 0.06 + k * 0.02 - 0.02,
            0.88 - k * 0.015,
            h - 0.04 + k * 0.02,
            shade(p.trim, 0.85 + 0.05 * k),
        )
    n_cols = 6 + 2 * int(s[0] > 0.5)
    span = 0.62
    for k in range(n_cols):
        x = 0.19 + k * span / (n_cols - 1)
        rect(draw, c, x - 0.022, 0.45, x + 0.022, h - 0.06, p.wall)
        line(draw, c, [(x, 0.46), (x, h - 0.07)], shade(p.wall, 0.8), 0.003)
        rect(draw, c, x - 0.028, 0.44, x + 0.028, 0.455, p.trim)
    rect(draw, c, 0.16, 0.39, 0.84, 0.445, p.trim)
    rect(draw, c, 0.16, 0.41, 0.84, 0.425, p.accent)
    apex = 0.27 - 0.06 * s[1]
    poly(draw, c, [(0.14, 0.39), (0.5, apex), (0.86, 0.39)], p.roof)
    poly(draw, c, [(0.2, 0.38), (0.5, apex + 0.03), (0.8, 0.38)], shade(p.roof, 1.15))
    rect(draw, c, 0.24, 0.455, 0.76, h - 0.06, shade(p.wall, 0.55), None)
    for k in range(n_cols):
        x = 0.19 + k * span / (n_cols - 1)
        rect(draw, c, x - 0.022, 0.455, x + 0.022, h - 0.06, p.wall)


def castle(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    def crenel(x0: float, x1: float, y: float, color: Color) -> None:
        k, step = 0, (x1 - x0) / 9
        while x0 + k * step < x1 - 1e-6:
            if k % 2 == 0:
                rect(draw, c, x0 + k * step, y - 0.025, x0 + (k + 1) * step, y, color)
            k += 1

    rect(draw, c, 0.12, 0.5, 0.88, h, p.wall)
    crenel(0.12, 0.88, 0.5, p.wall)
    masonry(draw, c, 0.12, 0.5, 0.88, h, p.wall, 0.025)
    keep_top = 0.22 + 0.08 * s[0]
    rect(draw, c, 0.38, keep_top, 0.62, h, shade(p.wall, 1.05))
    crenel(0.38, 0.62, keep_top, shade(p.wall, 1.05))
    window_grid(draw, c, 0.4, keep_top + 0.03, 0.6, 0.55, 3, 3, DARK, rounded=True)
    arch(draw, c, 0.45, 0.66, 0.55, h, DARK)
    for x in (0.06, 0.78):
        top = 0.32 + 0.06 * s[1]
        rect(draw, c, x, top, x + 0.16, h, shade(p.wall, 0.9))
        poly(draw, c, [(x - 0.015, top), (x + 0.08, top - 0.15 - 0.05 * s[2]), (x + 0.175, top)], p.roof)
        arch(draw, c, x + 0.06, top + 0.06, x + 0.1, top + 0.13, DARK)
    line(draw, c, [(0.5, keep_top - 0.025), (0.5, keep_top - 0.12)], DARK, 0.004)
    poly(draw, c, [(0.5, keep_top - 0.12), (0.58, keep_top - 0.1), (0.5, keep_top - 0.08)], p.accent)


def pagoda(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    tiers = 3 + int(s[0] * 2.99)
    tier_h = 0.6 / (tiers + 0.6)
    y = h
    for k in range(tiers):
        half = 0.17 - k * 0.09 / tiers
        rect(draw, c, 0.5 - half, y - tier_h * 0.65, 0.5 + half, y, p.wall)
        window_grid(draw, c, 0.5 - half, y - tier_h * 0.6, 0.5 + half, y - 0.01, 1, 3, p.accent)
        y -= tier_h * 0.65
        eave = half + 0.07 + 0.03 * s[1]
        lift = 0.03 + 0.03 * s[2]
        poly(
            draw,
            c,
            [
                (0.5 - eave, y - lift),
                (0.5 - half, y + 0.005),
                (0.5 + half, y + 0.005),
                (0.5 + eave, y - lift),
                (0.5 + half * 0.7, y - tier_h * 0.35),
                (0.5 - half * 0.7, y - tier_h * 0.35),
            ],
            p.roof,
        )
        y -= tier_h * 0.35
    line(draw, c, [(0.5, y), (0.5, y - 0.1)], p.trim, 0.008)
    for k in range(4):
        ellipse(draw, c, 0.5, y - 0.02 - k * 0.02, 0.012, 0.006, p.trim)


def triumphal_arch(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    top = 0.3 + 0.06 * s[0]
    rect(draw, c, 0.24, top, 0.76, h, p.wall)
    masonry(draw, c, 0.24, top + 0.1, 0.76, h, p.wall, 0.035)
    rect(draw, c, 0.22, top, 0.78, top + 0.09, shade(p.wall, 1.08))
    rect(draw, c, 0.3, top + 0.02, 0.7, top + 0.07, p.accent)
    arch(draw, c, 0.41, top + 0.2, 0.59, h, DARK)
    if s[1] > 0.4:
        arch(draw, c, 0.28, top + 0.32, 0.35, h, DARK)
        arch(draw, c, 0.65, top + 0.32, 0.72, h, DARK)
    for x in (0.26, 0.37, 0.61, 0.72):
        rect(draw, c, x, top + 0.12, x + 0.02, h, p.trim)
    poly(draw, c, [(0.42, top), (0.45, top - 0.07), (0.55, top - 0.08), (0.58, top)], p.roof)


def town_hall(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    rows, cols = 3 + int(s[0] * 2), 5 + int(s[1] * 3)
    block_building(draw, c, 0.14, 0.86, 0.38, h, p.wall, p.glass, p.roof, rows, cols, int(s[2] * 2.99))
    if s[3] > 0.5:
        poly(draw, c, [(0.42, 0.38), (0.5, 0.33), (0.58, 0.38)], p.trim)
    line(draw, c, [(0.5, 0.33), (0.5, 0.24)], DARK, 0.004)
    rect(draw, c, 0.5, 0.24, 0.56, 0.28, p.accent)
