"""Structures seen from outside: towers, bridge, pyramid, statue, ferris wheel, skyline, lighthouse.

Same conventions as architecture.py: RGBA canvas of side c, horizon at fraction h, shape numbers s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import ImageDraw

from samples.render.architecture import DARK, window_grid
from samples.render.canvas import arch, ellipse, line, pointed_arch, poly, rect, shade
from samples.render.specs import Palette


def clock_tower(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    half = 0.07 + 0.03 * s[0]
    top = 0.22 + 0.06 * s[1]
    rect(draw, c, 0.22, 0.6, 0.78, h, shade(p.wall, 0.9))
    window_grid(draw, c, 0.23, 0.62, 0.77, h - 0.02, 2, 7, DARK, rounded=True)
    rect(draw, c, 0.5 - half, top, 0.5 + half, h, p.wall)
    ellipse(draw, c, 0.5, top + 0.09, half * 0.8, half * 0.8, p.trim)
    for k in range(12):
        a = k * math.pi / 6
        ellipse(
            draw,
            c,
            0.5 + half * 0.65 * math.cos(a),
            top + 0.09 + half * 0.65 * math.sin(a),
            0.005,
            0.005,
            DARK,
        )
    line(draw, c, [(0.5, top + 0.09), (0.5 + half * 0.4, top + 0.07)], DARK, 0.006)
    pointed_arch(draw, c, 0.5 - half * 0.5, top + 0.2, 0.5 + half * 0.5, top + 0.32, DARK)
    rect(draw, c, 0.5 - half - 0.01, top - 0.01, 0.5 + half + 0.01, top + 0.01, p.accent)
    spire = top - 0.14 - 0.08 * s[2]
    poly(draw, c, [(0.5 - half - 0.01, top), (0.5, spire), (0.5 + half + 0.01, top)], p.roof)


def tv_tower(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    pod_y = 0.25 + 0.1 * s[0]
    poly(draw, c, [(0.47, h), (0.49, 0.1), (0.51, 0.1), (0.53, h)], p.wall)
    for dx in (-0.06, 0.06):
        poly(draw, c, [(0.5 + dx - 0.01, h), (0.5, h - 0.2), (0.5 + dx + 0.01, h)], shade(p.wall, 0.85))
    rx = 0.06 + 0.04 * s[1]
    if s[2] > 0.5:
        ellipse(draw, c, 0.5, pod_y, rx, rx, p.accent)
        line(draw, c, [(0.5 - rx, pod_y), (0.5 + rx, pod_y)], p.trim, 0.006)
    else:
        poly(
            draw,
            c,
            [
                (0.5 - rx, pod_y),
                (0.5 - rx * 0.5, pod_y + 0.05),
                (0.5 + rx * 0.5, pod_y + 0.05),
                (0.5 + rx, pod_y),
                (0.5 + rx * 0.6, pod_y - 0.04),
                (0.5 - rx * 0.6, pod_y - 0.04),
            ],
            p.accent,
        )
        rect(draw, c, 0.5 - rx, pod_y - 0.01, 0.5 + rx, pod_y + 0.01, p.glass)
    ellipse(draw, c, 0.5, pod_y + 0.18, 0.03, 0.02, p.roof)
    line(draw, c, [(0.5, 0.1), (0.5, 0.02)], p.trim, 0.005)


def iron_tower(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    apex, spread = 0.06 + 0.05 * s[0], 0.22 + 0.08 * s[1]
    color, step = p.roof, 0.04
    ys = [apex + (h - apex) * k / 20 for k in range(21)]
    left = [(0.5 - spread * ((y - apex) / (h - apex)) ** 2.2 - 0.012, y) for y in ys]
    for sign in (-1, 1):
        pts = [(0.5 + sign * (0.5 - x), y) for x, y in left]
        line(draw, c, pts, color, 0.014)
        inner = [(0.5 + sign * max(0.004, (0.5 - x) * 0.6), y) for x, y in left]
        line(draw, c, inner, color, 0.008)
        for k in range(len(pts) - 1):
            line(draw, c, [pts[k], inner[k + 1]], shade(color, 0.9), 0.003)
    y = apex + step
    while y < h:
        frac = ((y - apex) / (h - apex)) ** 2.2
        w = spread * frac + 0.012
        line(draw, c, [(0.5 - w, y), (0.5 + w, y)], shade(color, 0.85), 0.003)
        y += step * (1 + frac)
    for frac_y in (0.45, 0.7):
        y = apex + frac_y * (h - apex)
        w = spread * frac_y**2.2 + 0.03
        rect(draw, c, 0.5 - w, y - 0.012, 0.5 + w, y, p.accent)
    base_w = spread * 0.75
    line(
        draw,
        c,
        [
            (0.5 - base_w + 2 * base_w * k / 20, h - 0.06 - 0.1 * math.sin(math.pi * k / 20))
            for k in range(21)
        ],
        color,
        0.01,
    )
    line(draw, c, [(0.5, apex), (0.5, apex - 0.05)], color, 0.006)


def bridge(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    deck = h - 0.05
    rect(draw, c, 0.0, deck - 0.02, 1.0, deck + 0.02, p.wall)
    rect(draw, c, 0.0, deck + 0.02, 1.0, deck + 0.03, shade(p.wall, 0.6))
    top = 0.2 + 0.1 * s[0]
    gothic = s[1] > 0.5
    for x in (0.27, 0.73):
        rect(draw, c, x - 0.045, top, x + 0.045, h + 0.08, p.trim)
        if gothic:
            poly(draw, c, [(x - 0.05, top), (x, top - 0.09), (x + 0.05, top)], p.roof)
            pointed_arch(draw, c, x - 0.02, top + 0.05, x + 0.02, top + 0.16, DARK)
        else:
            rect(draw, c, x - 0.05, top - 0.015, x + 0.05, top, p.roof)
        arch(draw, c, x - 0.028, deck - 0.16, x + 0.028, deck - 0.02, shade(p.trim, 0.5))
    cable = p.accent
    mid = [
        (0.27 + 0.46 * k / 20, top + 0.02 + (deck - 0.05 - top) * (1 - (2 * k / 20 - 1) ** 2))
        for k in range(21)
    ]
    spans = [
        mid,
        [(0.27 - 0.32 * k / 10, top + 0.02 + (deck - top) * k / 10) for k in range(11)],
        [(0.73 + 0.32 * k / 10, top + 0.02 + (deck - top) * k / 10) for k in range(11)],
    ]
    for pts in spans:
        line(draw, c, pts, cable, 0.007)
        for x, y in pts[1:-1:2]:
            line(draw, c, [(x, y), (x, deck - 0.02)], shade(cable, 0.8), 0.002)


def pyramid(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    if s[0] > 0.3:
        off = 0.25 + 0.1 * s[1]
        poly(draw, c, [(0.5 + off - 0.2, h), (0.5 + off, h - 0.3), (0.5 + off + 0.2, h)], shade(p.wall, 0.95))
        poly(draw, c, [(0.5 + off + 0.05, h), (0.5 + off, h - 0.3), (0.5 + off + 0.2, h)], shade(p.wall, 0.7))
    apex = 0.18 + 0.08 * s[2]
    split = 0.58 + 0.1 * s[3]
    poly(draw, c, [(0.1, h), (0.5, apex), (split, h)], p.wall)
    poly(draw, c, [(split, h), (0.5, apex), (0.9, h)], shade(p.wall, 0.72))
    y = apex + 0.04
    while y < h:
        t = (y - apex) / (h - apex)
        line(draw, c, [(0.5 - 0.4 * t, y), (0.5 + (split - 0.5) * t, y)], shade(p.wall, 0.88), 0.002)
        y += 0.03
    if s[4] > 0.5:
        poly(draw, c, [(0.5 - 0.035, apex + 0.05), (0.5, apex), (0.5 + 0.035, apex + 0.05)], p.accent)


def statue(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    rect(draw, c, 0.38, 0.6, 0.62, h, p.trim)
    rect(draw, c, 0.36, 0.6, 0.64, 0.63, shade(p.trim, 0.85))
    rect(draw, c, 0.36, h - 0.04, 0.64, h, shade(p.trim, 0.85))
    body = p.roof
    poly(draw, c, [(0.43, 0.6), (0.455, 0.32), (0.545, 0.32), (0.57, 0.6)], body)
    poly(draw, c, [(0.455, 0.36), (0.5, 0.4), (0.545, 0.36), (0.54, 0.5), (0.46, 0.5)], shade(body, 0.8))
    ellipse(draw, c, 0.5, 0.28, 0.035, 0.042, body)
    hand = (0.6 + 0.05 * s[0], 0.12 + 0.05 * s[1])
    line(draw, c, [(0.535, 0.34), hand], body, 0.022)
    if s[2] > 0.5:
        ellipse(draw, c, hand[0], hand[1] - 0.03, 0.018, 0.03, p.accent)
    else:
        line(draw, c, [(hand[0], hand[1] + 0.04), (hand[0] + 0.02, hand[1] - 0.08)], p.accent, 0.008)
    line(draw, c, [(0.465, 0.34), (0.43, 0.46)], body, 0.02)
    if s[3] > 0.4:
        for k in range(5):
            a = math.pi * (0.15 + 0.7 * k / 4)
            line(draw, c, [(0.5, 0.26), (0.5 - 0.06 * math.cos(a), 0.26 - 0.06 * math.sin(a))], body, 0.007)


def ferris_wheel(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    r = 0.28 + 0.06 * s[0]
    cy = h - r - 0.1
    for dx in (-1, 1):
        line(draw, c, [(0.5, cy), (0.5 + dx * 0.14, h)], p.trim, 0.014)
    n = 12 + 4 * int(s[1] * 2.99)
    for k in range(n):
        a = 2 * math.pi * k / n
        line(draw, c, [(0.5, cy), (0.5 + r * math.cos(a), cy + r * math.sin(a))], p.wall, 0.003)
    ellipse(draw, c, 0.5, cy, r, r, None, p.wall, max(2, round(0.012 * c)))
    ellipse(draw, c, 0.5, cy, r * 0.92, r * 0.92, None, shade(p.wall, 0.8), max(1, round(0.005 * c)))
    for k in range(n):
        a = 2 * math.pi * (k + 0.5) / n
        x, y = 0.5 + r * math.cos(a), cy + r * math.sin(a)
        rect(draw, c, x - 0.018, y + 0.005, x + 0.018, y + 0.04, p.accent if k % 2 else p.roof)
    ellipse(draw, c, 0.5, cy, 0.03, 0.03, p.accent)
    rect(draw, c, 0.38, h - 0.05, 0.62, h, p.roof)


def skyline(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    xs = [0.04, 0.16, 0.26, 0.36, 0.64, 0.74, 0.85]
    for k, x in enumerate(xs):
        height = 0.2 + 0.25 * ((k * 0.37 + s[k % 8]) % 1.0)
        col = shade(p.wall, 0.7 + 0.1 * (k % 3))
        rect(draw, c, x, h - height, x + 0.1, h, col)
        window_grid(draw, c, x, h - height + 0.01, x + 0.1, h, max(2, int(height / 0.04)), 3, p.glass)
    top = 0.14 + 0.08 * s[0]
    rect(draw, c, 0.44, top, 0.56, h, p.trim)
    window_grid(draw, c, 0.44, top + 0.02, 0.56, h, 16, 3, p.glass)
    if s[1] > 0.5:
        poly(draw, c, [(0.44, top), (0.5, top - 0.12), (0.56, top)], p.accent)
    else:
        for k in range(3):
            rect(draw, c, 0.45 + k * 0.007, top - 0.03 * (k + 1), 0.55 - k * 0.007, top - 0.03 * k, p.accent)
    line(draw, c, [(0.5, top - 0.1), (0.5, top - 0.2)], p.trim, 0.004)


def lighthouse(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float], h: float) -> None:
    poly(
        draw,
        c,
        [
            (0.25, h + 0.05),
            (0.32, h - 0.06),
            (0.45, h - 0.1),
            (0.6, h - 0.08),
            (0.72, h - 0.02),
            (0.8, h + 0.05),
        ],
        (84, 80, 78),
    )
    base, top = h - 0.08, 0.28 + 0.06 * s[0]
    poly(draw, c, [(0.43, base), (0.46, top), (0.54, top), (0.57, base)], p.wall)
    bands = 3 + int(s[1] * 3)
    for k in range(bands):
        if k % 2 == 0:
            y0 = top + (base - top) * k / bands
            y1 = top + (base - top) * (k + 1) / bands
            w0, w1 = 0.04 + 0.03 * (y0 - top) / (base - top), 0.04 + 0.03 * (y1 - top) / (base - top)
            poly(draw, c, [(0.5 - w0, y0), (0.5 + w0, y0), (0.5 + w1, y1), (0.5 - w1, y1)], p.accent)
    rect(draw, c, 0.44, top - 0.015, 0.56, top, DARK)
    rect(draw, c, 0.465, top - 0.07, 0.535, top - 0.015, (250, 230, 140))
    for k in range(3):
        line(draw, c, [(0.47 + k * 0.03, top - 0.07), (0.47 + k * 0.03, top - 0.015)], DARK, 0.003)
    ellipse(draw, c, 0.5, top - 0.07, 0.04, 0.03, p.roof)
    rect(draw, c, 0.46, top - 0.07, 0.54, top - 0.065, p.roof)
