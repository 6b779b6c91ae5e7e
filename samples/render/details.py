"""Close-up details of landmarks: rose window, clock, statue head, frieze, dome top, battlement, eave, ...

Each drawer paints on an RGBA canvas of side c; pixels left transparent are sky (filled per photo).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PIL import ImageDraw

from samples.render.architecture import DARK, masonry, window_grid
from samples.render.canvas import arch, ellipse, line, poly, rect, shade
from samples.render.specs import Palette

Drawer = Callable[[ImageDraw.ImageDraw, int, Palette, Sequence[float]], None]


def rose_window(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0, 0, 1, 1, p.wall)
    masonry(draw, c, 0, 0, 1, 1, p.wall, 0.06)
    ellipse(draw, c, 0.5, 0.5, 0.44, 0.44, p.trim)
    ellipse(draw, c, 0.5, 0.5, 0.4, 0.4, shade(p.glass, 0.5))
    n = 8 + 4 * int(s[0] * 2.99)
    for k in range(n):
        a = 2 * math.pi * k / n
        color = p.glass if k % 2 else p.accent
        ellipse(draw, c, 0.5 + 0.28 * math.cos(a), 0.5 + 0.28 * math.sin(a), 0.07, 0.07, color)
        line(draw, c, [(0.5, 0.5), (0.5 + 0.4 * math.cos(a), 0.5 + 0.4 * math.sin(a))], p.trim, 0.012)
    ellipse(draw, c, 0.5, 0.5, 0.12, 0.12, p.trim)
    ellipse(draw, c, 0.5, 0.5, 0.09, 0.09, p.roof)


def clock(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0, 0, 1, 1, p.wall)
    masonry(draw, c, 0, 0, 1, 1, p.wall, 0.07)
    ellipse(draw, c, 0.5, 0.5, 0.42, 0.42, p.roof)
    face = p.trim if s[4] > 0.3 else p.accent
    ellipse(draw, c, 0.5, 0.5, 0.37, 0.37, face)
    for k in range(12):
        a = k * math.pi / 6
        line(
            draw,
            c,
            [
                (0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a)),
                (0.5 + 0.35 * math.cos(a), 0.5 + 0.35 * math.sin(a)),
            ],
            DARK,
            0.02,
        )
    hour, minute = 2 * math.pi * s[5], 2 * math.pi * s[6]
    line(draw, c, [(0.5, 0.5), (0.5 + 0.18 * math.sin(hour), 0.5 - 0.18 * math.cos(hour))], DARK, 0.03)
    line(draw, c, [(0.5, 0.5), (0.5 + 0.28 * math.sin(minute), 0.5 - 0.28 * math.cos(minute))], DARK, 0.018)
    ellipse(draw, c, 0.5, 0.5, 0.03, 0.03, p.roof)


def statue_head(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    body = p.roof
    poly(draw, c, [(0.1, 1.0), (0.25, 0.78), (0.75, 0.78), (0.9, 1.0)], shade(body, 0.85))
    rect(draw, c, 0.42, 0.62, 0.58, 0.82, shade(body, 0.8))
    ellipse(draw, c, 0.5, 0.45, 0.19, 0.24, body)
    ellipse(draw, c, 0.57, 0.47, 0.1, 0.2, shade(body, 0.8))
    for x in (0.43, 0.57):
        ellipse(draw, c, x, 0.42, 0.035, 0.018, shade(body, 0.6))
    poly(draw, c, [(0.5, 0.43), (0.47, 0.53), (0.52, 0.53)], shade(body, 0.7))
    line(draw, c, [(0.45, 0.59), (0.55, 0.59)], shade(body, 0.6), 0.01)
    if s[3] > 0.4:
        for k in range(7):
            a = math.pi * (0.1 + 0.8 * k / 6)
            poly(
                draw,
                c,
                [
                    (0.5 + 0.17 * math.cos(a - 0.12), 0.3 - 0.1 * math.sin(a - 0.12)),
                    (0.5 + 0.38 * math.cos(a), 0.3 - 0.3 * math.sin(a)),
                    (0.5 + 0.17 * math.cos(a + 0.12), 0.3 - 0.1 * math.sin(a + 0.12)),
                ],
                body,
            )
        rect(draw, c, 0.31, 0.27, 0.69, 0.31, p.accent)
    else:
        for k in range(9):
            ellipse(draw, c, 0.33 + k * 0.042, 0.25 + 0.04 * abs(k - 4) / 4, 0.035, 0.035, p.accent)


def frieze(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0, 0, 1, 1, p.wall)
    rect(draw, c, 0, 0.18, 1, 0.26, p.trim)
    for k in range(20):
        rect(draw, c, k * 0.05, 0.26, k * 0.05 + 0.03, 0.3, shade(p.trim, 0.8))
    rect(draw, c, 0, 0.34, 1, 0.66, shade(p.wall, 0.92))
    n = 3 + int(s[0] * 3)
    for k in range(n):
        x = (k + 0.5) / n
        if s[1] > 0.5:
            ellipse(draw, c, x, 0.5, 0.08, 0.08, p.accent)
            for j in range(8):
                a = j * math.pi / 4
                ellipse(draw, c, x + 0.05 * math.cos(a), 0.5 + 0.05 * math.sin(a), 0.02, 0.02, p.trim)
        else:
            ellipse(draw, c, x, 0.41, 0.03, 0.035, shade(p.wall, 0.65))
            poly(
                draw,
                c,
                [(x - 0.05, 0.64), (x - 0.03, 0.45), (x + 0.03, 0.45), (x + 0.05, 0.64)],
                shade(p.wall, 0.65),
            )
        rect(draw, c, x + 0.5 / n - 0.015, 0.34, x + 0.5 / n + 0.015, 0.66, shade(p.roof, 0.9))
    rect(draw, c, 0, 0.7, 1, 0.76, p.accent)
    rect(draw, c, 0, 0.8, 1, 1, shade(p.wall, 0.85))


def dome_top(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    ellipse(draw, c, 0.5, 1.15, 0.75, 0.65, p.roof)
    for k in range(9):
        x = 0.1 + k * 0.1
        line(draw, c, [(x, 1.0), (0.5 + (x - 0.5) * 0.3, 0.5)], shade(p.roof, 0.75), 0.01)
    rect(draw, c, 0.4, 0.32, 0.6, 0.55, p.wall)
    for k in range(4):
        arch(draw, c, 0.415 + k * 0.047, 0.36, 0.44 + k * 0.047, 0.5, DARK)
    ellipse(draw, c, 0.5, 0.32, 0.11, 0.08, p.roof)
    line(draw, c, [(0.5, 0.24), (0.5, 0.06)], p.accent, 0.015)
    if s[2] > 0.5:
        line(draw, c, [(0.45, 0.11), (0.55, 0.11)], p.accent, 0.015)
    else:
        ellipse(draw, c, 0.5, 0.06, 0.045, 0.045, p.accent)


def battlement(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0, 0.55, 1, 1, p.wall)
    masonry(draw, c, 0, 0.55, 1, 1, p.wall, 0.05)
    for k in range(0, 10, 2):
        rect(draw, c, k * 0.1, 0.45, k * 0.1 + 0.1, 0.55, p.wall)
    rect(draw, c, 0.58, 0.2, 0.9, 1.0, shade(p.wall, 0.9))
    poly(draw, c, [(0.55, 0.2), (0.74, 0.02 - 0.05 * s[2]), (0.93, 0.2)], p.roof)
    arch(draw, c, 0.7, 0.35, 0.78, 0.5, DARK)
    arch(draw, c, 0.2, 0.7, 0.3, 0.9, DARK)
    line(draw, c, [(0.25, 0.45), (0.25, 0.1)], DARK, 0.008)
    poly(draw, c, [(0.25, 0.1), (0.45, 0.15), (0.25, 0.21)], p.accent)


def eave(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0.0, 0.5, 0.7, 1.0, p.wall)
    window_grid(draw, c, 0.0, 0.6, 0.7, 1.0, 1, 3, p.accent)
    poly(draw, c, [(0.0, 0.35), (0.7, 0.35), (0.95, 0.12 + 0.1 * s[2]), (0.8, 0.5), (0.0, 0.52)], p.roof)
    for k in range(8):
        line(draw, c, [(k * 0.09, 0.36), (k * 0.09, 0.51)], shade(p.roof, 0.7), 0.008)
    for k in range(5):
        rect(draw, c, 0.05 + k * 0.14, 0.5, 0.09 + k * 0.14, 0.56, p.accent)
    line(draw, c, [(0.88, 0.3), (0.88, 0.42)], DARK, 0.005)
    ellipse(draw, c, 0.88, 0.45, 0.03, 0.04, p.trim)


def tower_top(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0.3, 0.45, 0.7, 1.0, p.trim)
    window_grid(draw, c, 0.3, 0.47, 0.7, 1.0, 6, 4, p.glass)
    if s[1] > 0.5:
        poly(draw, c, [(0.3, 0.45), (0.5, 0.12), (0.7, 0.45)], p.accent)
    else:
        ellipse(draw, c, 0.5, 0.38, 0.3, 0.1, p.accent)
        rect(draw, c, 0.2, 0.36, 0.8, 0.4, p.glass)
    line(draw, c, [(0.5, 0.2), (0.5, 0.0)], p.wall, 0.012)


def lattice(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    for k in range(-6, 14):
        x = k * 0.1
        line(draw, c, [(x, 0.0), (x + 0.5, 1.0)], p.roof, 0.012)
        line(draw, c, [(x + 0.5, 0.0), (x, 1.0)], shade(p.roof, 0.85), 0.012)
    line(draw, c, [(0.15, 0.0), (0.3, 1.0)], p.roof, 0.05)
    line(draw, c, [(0.85, 0.0), (0.7, 1.0)], p.roof, 0.05)
    rect(draw, c, 0.0, 0.55 + 0.1 * s[0], 1.0, 0.63 + 0.1 * s[0], p.accent)


def cables(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0.15, 0.1, 0.35, 1.0, p.trim)
    arch(draw, c, 0.2, 0.3, 0.3, 0.55, DARK if s[1] > 0.5 else shade(p.trim, 0.6))
    rect(draw, c, 0.12, 0.07, 0.38, 0.12, p.roof)
    for k in range(7):
        line(draw, c, [(0.3, 0.15), (1.0, 0.35 + k * 0.09)], p.accent, 0.008)
    rect(draw, c, 0.0, 0.85, 1.0, 0.92, p.wall)


def masonry_blocks(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0, 0, 1, 1, p.wall)
    for r in range(8):
        off = 0.07 * (r % 2)
        for k in range(-1, 7):
            tone = 0.82 + 0.18 * ((r * 7 + k * 3 + int(s[0] * 10)) % 5) / 4
            rect(
                draw,
                c,
                k * 0.15 + off,
                r * 0.125,
                k * 0.15 + off + 0.145,
                r * 0.125 + 0.12,
                shade(p.wall, tone),
            )
    poly(draw, c, [(0.4, 0.75), (0.5, 0.45), (0.6, 0.75)], DARK)
    rect(draw, c, 0.44, 0.75, 0.56, 1.0, DARK)


def gondolas(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    for k in range(7):
        a = math.pi * (0.55 + 0.15 * k)
        line(
            draw, c, [(0.15, 0.95), (0.15 + 1.5 * math.cos(a) * -1, 0.95 - 1.5 * math.sin(a))], p.wall, 0.006
        )
    pts = [
        (0.15 + 0.85 * math.cos(a / 20 * math.pi / 2), 0.95 - 0.85 * math.sin(a / 20 * math.pi / 2))
        for a in range(21)
    ]
    line(draw, c, pts, p.wall, 0.025)
    for k in (4, 10, 16):
        x, y = pts[k]
        line(draw, c, [(x, y), (x, y + 0.08)], DARK, 0.006)
        rect(draw, c, x - 0.07, y + 0.08, x + 0.07, y + 0.2, p.accent if k != 10 else p.roof)
        rect(draw, c, x - 0.05, y + 0.1, x + 0.05, y + 0.14, p.glass)


def lantern(draw: ImageDraw.ImageDraw, c: int, p: Palette, s: Sequence[float]) -> None:
    rect(draw, c, 0.25, 0.7, 0.75, 1.0, p.wall)
    rect(draw, c, 0.25, 0.82, 0.75, 0.92, p.accent)
    rect(draw, c, 0.15, 0.65, 0.85, 0.7, DARK)
    for k in range(9):
        line(draw, c, [(0.16 + k * 0.085, 0.55), (0.16 + k * 0.085, 0.65)], DARK, 0.006)
    line(draw, c, [(0.15, 0.55), (0.85, 0.55)], DARK, 0.008)
    rect(draw, c, 0.3, 0.3, 0.7, 0.65, (250, 232, 150))
    for k in range(4):
        line(draw, c, [(0.3 + k * 0.133, 0.3), (0.3 + k * 0.133, 0.65)], DARK, 0.01)
    ellipse(draw, c, 0.5, 0.3, 0.25, 0.14, p.roof)
    rect(draw, c, 0.25, 0.29, 0.75, 0.31, shade(p.roof, 0.7))
    line(draw, c, [(0.5, 0.16), (0.5, 0.05)], DARK, 0.008)


DETAILS: dict[str, Drawer] = {
    "rose_window": rose_window,
    "clock": clock,
    "statue_head": statue_head,
    "frieze": frieze,
    "dome_top": dome_top,
    "battlement": battlement,
    "eave": eave,
    "tower_top": tower_top,
    "lattice": lattice,
    "cables": cables,
    "masonry": masonry_blocks,
    "gondolas": gondolas,
    "lantern": lantern,
}
