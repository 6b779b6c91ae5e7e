"""Interiors of landmarks: a gothic nave, a rotunda seen from below, a columned hall.

Each drawer fills the whole canvas (side c, opaque) in the landmark's palette; `s` are its shape
numbers in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import ImageDraw

from samples.render.canvas import ellipse, hsv_color, line, mix, pointed_arch, poly, rect, shade
from samples.render.specs import Palette


def _stained(
    draw: ImageDraw.ImageDraw,
    c: int,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    p: Palette,
    s: Sequence[float],
) -> None:
    """A stained-glass window: a pointed opening filled with coloured panes."""
    pointed_arch(draw, c, x0, y0, x1, y1, shade(p.trim, 0.5))
    colors = [p.glass, p.accent, shade(p.glass, 0.6), hsv_color(s[5], 0.8, 0.85)]
    rows = 4
    inset = (x1 - x0) * 0.12
    for r in range(rows):
        for k in range(2):
            cx0 = x0 + inset + k * (x1 - x0 - 2 * inset) / 2
            cy0 = y0 + (x1 - x0) * 0.9 + r * (y1 - y0 - (x1 - x0)) / rows
            rect(
                draw,
                c,
                cx0 + 0.003,
                cy0 + 0.003,
                cx0 + (x1 - x0 - 2 * inset) / 2 - 0.003,
                cy0 + (y1 - y0 - (x1 - x0)) / rows - 0.003,
                colors[(r + k) % 4],
            )


def nave(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    """Looking down a vaulted nave: receding pointed arcades, stained glass, ribbed vault, apse window."""
    stone = shade(p.wall, 0.62)
    rect(draw, c, 0, 0, 1, 1, shade(stone, 0.7))
    vy = 0.52 + 0.06 * (s[6] - 0.5)
    floor = mix(p.trim, (90, 70, 60), 0.5)
    poly(draw, c, [(0, 1), (1, 1), (0.56, vy + 0.04), (0.44, vy + 0.04)], floor)
    for k in range(9):
        x = k / 8
        line(draw, c, [(x, 1.0), (0.44 + 0.12 * x, vy + 0.04)], shade(floor, 0.8), 0.003)
    _stained(draw, c, 0.455, vy - 0.2, 0.545, vy + 0.04, p, s)
    n = 5 + int(s[0] * 3)
    g = [1.0 / (1.0 + 0.55 * k) for k in range(n + 1)]
    for k in range(n - 1, -1, -1):
        near, far = g[k], g[k + 1]
        for sign in (-1, 1):
            xn, xf = 0.5 + sign * 0.48 * near, 0.5 + sign * 0.48 * far
            top_n, top_f = vy - 0.55 * near, vy - 0.55 * far
            bot_n, bot_f = vy + 0.5 * near, vy + 0.5 * far
            poly(draw, c, [(xn, top_n), (xf, top_f), (xf, bot_f), (xn, bot_n)], stone)
            mid_top, mid_bot = vy - 0.15 * (near + far), vy + 0.5 * (near + far) / 2
            xa, xb = xn + (xf - xn) * 0.15, xn + (xf - xn) * 0.85
            pointed_arch(draw, c, min(xa, xb), mid_top, max(xa, xb), mid_bot, shade(stone, 0.45))
            wx0, wx1 = sorted((xn + (xf - xn) * 0.3, xn + (xf - xn) * 0.7))
            if wx1 - wx0 > 0.01:
                _stained(draw, c, wx0, vy - 0.45 * (near + far) / 2, wx1, mid_top - 0.04 * near, p, s)
            rect(
                draw,
                c,
                min(xn, xn - sign * 0.025 * near),
                top_n,
                max(xn, xn - sign * 0.025 * near),
                bot_n,
                shade(stone, 1.25),
            )
        line(
            draw,
            c,
            [
                (0.5 - 0.48 * near, vy - 0.55 * near),
                (0.5, vy - 0.75 * near),
                (0.5 + 0.48 * near, vy - 0.55 * near),
            ],
            shade(p.roof, 0.8),
            0.008 * near + 0.002,
        )
    poly(
        draw,
        c,
        [(0, 0), (1, 0), (0.5 + 0.48, vy - 0.55), (0.5, vy - 0.75), (0.02, vy - 0.55)],
        shade(p.roof, 0.55),
    )
    for k in range(n):
        near = g[k]
        line(
            draw,
            c,
            [
                (0.5 - 0.48 * near, vy - 0.55 * near),
                (0.5, vy - 0.75 * near),
                (0.5 + 0.48 * near, vy - 0.55 * near),
            ],
            shade(p.trim, 0.8),
            0.006 * near + 0.002,
        )
    line(draw, c, [(0.5, 0.0), (0.5, vy - 0.75 * g[-1])], shade(p.trim, 0.7), 0.004)


def rotunda(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    """Looking up into a coffered dome with windows round its drum and a bright oculus."""
    rect(draw, c, 0, 0, 1, 1, shade(p.wall, 0.55))
    cx, cy = 0.5 + 0.05 * (s[6] - 0.5), 0.5
    rings = 4 + int(s[0] * 3)
    ribs = 8 + 4 * int(s[1] * 2.99)
    for r in range(rings, 0, -1):
        rad = 0.62 * r / rings
        color = [p.roof, p.trim, shade(p.accent, 0.8)][r % 3] if r < rings else shade(p.wall, 0.8)
        ellipse(draw, c, cx, cy, rad, rad * 0.92, color)
        for k in range(ribs):
            a = 2 * math.pi * (k + 0.5 * (r % 2)) / ribs
            rr = rad - 0.31 / rings
            ellipse(
                draw,
                c,
                cx + rr * math.cos(a),
                cy + rr * 0.92 * math.sin(a),
                0.16 / rings,
                0.14 / rings,
                shade(color, 0.7),
            )
    for k in range(ribs):
        a = 2 * math.pi * k / ribs
        line(
            draw,
            c,
            [
                (cx + 0.08 * math.cos(a), cy + 0.08 * math.sin(a)),
                (cx + 0.75 * math.cos(a), cy + 0.7 * math.sin(a)),
            ],
            shade(p.trim, 1.1),
            0.006,
        )
        wx, wy = cx + 0.56 * math.cos(a + math.pi / ribs), cy + 0.52 * math.sin(a + math.pi / ribs)
        ellipse(draw, c, wx, wy, 0.03, 0.03, p.glass)
    ellipse(draw, c, cx, cy, 0.08, 0.075, p.accent)
    ellipse(draw, c, cx, cy, 0.06, 0.055, (250, 248, 232))


def hall(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    """A columned hall: carpet to a throne or altar, columns receding, chandeliers, painted ceiling."""
    vy = 0.5 + 0.06 * (s[6] - 0.5)
    rect(draw, c, 0, 0, 1, 1, shade(p.wall, 0.8))
    poly(draw, c, [(0, 0), (1, 0), (0.68, vy - 0.22), (0.32, vy - 0.22)], shade(p.roof, 0.75))
    poly(draw, c, [(0.3, 0.0), (0.7, 0.0), (0.58, vy - 0.22), (0.42, vy - 0.22)], shade(p.glass, 0.9))
    floor = shade(p.trim, 0.75)
    poly(draw, c, [(0, 1), (1, 1), (0.68, vy + 0.12), (0.32, vy + 0.12)], floor)
    poly(draw, c, [(0.3, 1), (0.7, 1), (0.52, vy + 0.12), (0.48, vy + 0.12)], p.accent)
    rect(draw, c, 0.32, vy - 0.22, 0.68, vy + 0.12, shade(p.wall, 0.95))
    rect(draw, c, 0.43, vy - 0.15, 0.57, vy - 0.03, p.glass)
    rect(draw, c, 0.46, vy - 0.02, 0.54, vy + 0.12, p.roof)
    n = 4 + int(s[0] * 3)
    for k in range(n - 1, -1, -1):
        g = 1.0 / (1.0 + 0.6 * k)
        for sign in (-1, 1):
            x = 0.5 + sign * (0.18 + 0.3 * g)
            w = 0.035 * g
            rect(draw, c, x - w, vy - 0.22 - 0.3 * g, x + w, vy + 0.12 + 0.4 * g, p.trim)
            rect(
                draw,
                c,
                x - w * 1.4,
                vy - 0.22 - 0.3 * g,
                x + w * 1.4,
                vy - 0.2 - 0.28 * g,
                shade(p.trim, 0.8),
            )
        if k % 2 == 0:
            y = vy - 0.28 * g - 0.02
            line(draw, c, [(0.5, 0.0), (0.5, y)], (60, 50, 40), 0.002)
            ellipse(draw, c, 0.5, y + 0.02 * g, 0.06 * g, 0.025 * g, (235, 200, 110))
