"""Photos without a landmark: ordinary buildings, streets, nature, people, food and objects, rooms.

Every scene is drawn fresh from the photo's Generator, so no two share an identity.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from samples.render.architecture import block_building, window_grid
from samples.render.canvas import Color, ellipse, hsv_color, line, poly, rect, shade
from samples.render.effects import LIGHTING, Lighting, car, degrade, draw_lighting, occlude, person, sky
from samples.render.views import draw_ground

SCENE_KINDS = ("ordinary_building", "street", "nature", "people", "food", "room")


def _color(
    rng: np.random.Generator, sat: tuple[float, float] = (0.1, 0.6), val: tuple[float, float] = (0.4, 0.95)
) -> Color:
    return hsv_color(float(rng.uniform(0, 1)), float(rng.uniform(*sat)), float(rng.uniform(*val)))


def _outdoor(c: int, rng: np.random.Generator, lighting: Lighting) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = sky(c, lighting, rng)
    return image, ImageDraw.Draw(image)


def ordinary_building(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    image, draw = _outdoor(c, rng, lighting)
    horizon = float(rng.uniform(0.72, 0.88))
    draw_ground(draw, c, _color(rng, (0.0, 0.25), (0.4, 0.7)), str(rng.choice(["plaza", "grass"])), horizon)
    x = float(rng.uniform(-0.2, 0.1))
    while x < 1.0:
        w = float(rng.uniform(0.25, 0.7))
        top = float(rng.uniform(0.2, 0.6))
        block_building(
            draw,
            c,
            x,
            x + w,
            top,
            horizon,
            _color(rng, (0.05, 0.5), (0.45, 0.9)),
            _color(rng, (0.1, 0.5), (0.15, 0.7)),
            _color(rng, (0.1, 0.6), (0.2, 0.6)),
            int(rng.integers(2, 7)),
            int(rng.integers(2, 8)),
            int(rng.integers(0, 3)),
        )
        x += w + float(rng.uniform(0.0, 0.15))
    return image


def street(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    image, draw = _outdoor(c, rng, lighting)
    vx, vy = float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.45, 0.6))
    rect(draw, c, 0, vy, 1, 1, _color(rng, (0.0, 0.1), (0.3, 0.5)))
    poly(draw, c, [(0.1, 1), (0.9, 1), (vx + 0.02, vy), (vx - 0.02, vy)], (70, 70, 74))
    line(draw, c, [(0.5, 1), (vx, vy)], (220, 220, 200), 0.006)
    for side in (0, 1):
        x_out = 0.0 if side == 0 else 1.0
        depth = 0.0
        while depth < 0.9:
            d1 = min(1.0, depth + float(rng.uniform(0.15, 0.35)))
            col = _color(rng, (0.05, 0.5), (0.4, 0.9))
            xa, xb = x_out + (vx - 0.05 - x_out) * depth, x_out + (vx - 0.05 - x_out) * d1
            if side:
                xa, xb = x_out + (vx + 0.05 - x_out) * depth, x_out + (vx + 0.05 - x_out) * d1
            h_out, h_in = 0.05 + float(rng.uniform(0, 0.25)), 0.0
            ya, yb = h_out + (vy - 0.15 - h_out) * depth, h_out + (vy - 0.15 - h_out) * d1 + h_in
            poly(
                draw,
                c,
                [
                    (xa, ya),
                    (xb, yb),
                    (xb, vy + (1 - vy) * (1 - d1) * 0.6),
                    (xa, vy + (1 - vy) * (1 - depth) * 0.6),
                ],
                col,
            )
            depth = d1
    for _ in range(int(rng.integers(0, 3))):
        car(
            draw,
            c,
            float(rng.uniform(0.2, 0.8)),
            float(rng.uniform(0.75, 0.98)),
            float(rng.uniform(0.2, 0.4)),
            rng,
        )
    return image


def nature(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    image, draw = _outdoor(c, rng, lighting)
    horizon = float(rng.uniform(0.5, 0.75))
    for layer in range(int(rng.integers(1, 4))):
        pts = [(-0.1, horizon + 0.05)]
        x = -0.1
        while x < 1.1:
            x += float(rng.uniform(0.1, 0.35))
            pts.append((x, horizon - float(rng.uniform(0.05, 0.35)) / (layer + 1)))
        pts.append((1.1, horizon + 0.05))
        poly(draw, c, pts, shade(hsv_color(float(rng.uniform(0.25, 0.7)), 0.3, 0.55), 0.8 + 0.15 * layer))
    water = rng.random() < 0.4
    rect(
        draw, c, -0.1, horizon, 1.1, 1.1, _color(rng, (0.4, 0.7), (0.3, 0.6)) if not water else (70, 110, 150)
    )
    for _ in range(int(rng.integers(2, 12))):
        x, y = float(rng.uniform(0, 1)), float(rng.uniform(horizon, 1.05))
        h = 0.05 + 0.3 * (y - horizon) / (1.05 - horizon)
        green = hsv_color(
            float(rng.uniform(0.22, 0.38)), float(rng.uniform(0.4, 0.8)), float(rng.uniform(0.2, 0.6))
        )
        rect(draw, c, x - h * 0.06, y - h * 0.4, x + h * 0.06, y, (90, 60, 40))
        if rng.random() < 0.5:
            poly(draw, c, [(x - h * 0.3, y - h * 0.3), (x, y - h * 1.3), (x + h * 0.3, y - h * 0.3)], green)
        else:
            ellipse(draw, c, x, y - h * 0.8, h * 0.35, h * 0.45, green)
    return image


def people(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    image = ordinary_building(c, rng, lighting) if rng.random() < 0.5 else nature(c, rng, lighting)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        person(
            draw,
            c,
            float(rng.uniform(0.2, 0.8)),
            float(rng.uniform(1.1, 1.5)),
            float(rng.uniform(0.8, 1.3)),
            rng,
        )
    return image


def food(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    image = Image.new(
        "RGB", (c, c), hsv_color(float(rng.uniform(0.05, 0.1)), 0.5, float(rng.uniform(0.3, 0.7)))
    )
    draw = ImageDraw.Draw(image)
    for k in range(0, 10):
        line(draw, c, [(0, k * 0.1 + 0.03), (1, k * 0.1)], shade(image.getpixel((0, 0)), 0.85), 0.004)  # type: ignore[arg-type]
    for _ in range(int(rng.integers(1, 4))):
        x, y, r = float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.12, 0.3))
        ellipse(draw, c, x, y, r, r * 0.8, (240, 240, 236))
        ellipse(draw, c, x, y, r * 0.75, r * 0.6, (225, 225, 220))
        for _ in range(int(rng.integers(2, 8))):
            ellipse(
                draw,
                c,
                x + float(rng.uniform(-0.5, 0.5)) * r,
                y + float(rng.uniform(-0.4, 0.4)) * r,
                r * 0.18,
                r * 0.14,
                _color(rng, (0.5, 1.0), (0.4, 0.95)),
            )
    if rng.random() < 0.6:
        x = float(rng.uniform(0.1, 0.9))
        rect(draw, c, x - 0.06, 0.05, x + 0.06, 0.3, _color(rng))
        ellipse(draw, c, x, 0.05, 0.06, 0.02, (60, 40, 30))
    return image


def room(c: int, rng: np.random.Generator, lighting: Lighting) -> Image.Image:
    wall = _color(rng, (0.05, 0.4), (0.5, 0.95))
    image = Image.new("RGB", (c, c), wall)
    draw = ImageDraw.Draw(image)
    floor_y = float(rng.uniform(0.6, 0.75))
    rect(draw, c, 0, floor_y, 1, 1, _color(rng, (0.2, 0.6), (0.25, 0.6)))
    wx = float(rng.uniform(0.05, 0.55))
    rect(draw, c, wx, 0.15, wx + 0.3, 0.5, (150, 190, 230) if lighting.kind != "night" else (20, 25, 50))
    window_grid(draw, c, wx, 0.15, wx + 0.3, 0.5, 1, 1, shade(wall, 1.1))
    sofa = _color(rng, (0.3, 0.8), (0.3, 0.8))
    sx = float(rng.uniform(0.0, 0.5))
    rect(draw, c, sx, floor_y - 0.15, sx + 0.45, floor_y + 0.05, sofa)
    rect(draw, c, sx, floor_y - 0.25, sx + 0.45, floor_y - 0.12, shade(sofa, 0.85))
    if rng.random() < 0.7:
        px = float(rng.uniform(0.55, 0.8))
        rect(draw, c, px, 0.2, px + 0.15, 0.35, (60, 45, 30))
        rect(draw, c, px + 0.015, 0.215, px + 0.135, 0.335, _color(rng))
    rect(draw, c, 0.55, floor_y - 0.05, 0.85, floor_y, (110, 80, 55))
    line(draw, c, [(0.9, floor_y + 0.1), (0.9, 0.3)], (40, 40, 40), 0.006)
    ellipse(draw, c, 0.9, 0.3, 0.05, 0.04, (245, 230, 170))
    return image


SCENES: dict[str, Callable[[int, np.random.Generator, Lighting], Image.Image]] = {
    "ordinary_building": ordinary_building,
    "street": street,
    "nature": nature,
    "people": people,
    "food": food,
    "room": room,
}


def non_landmark_photo(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    """A (size x size) RGB photo of scene `kind` (one of SCENE_KINDS) with its own light and people."""
    lighting = draw_lighting(rng)
    c = 2 * size
    image = SCENES[kind](c, rng, lighting)
    if kind in ("ordinary_building", "street", "nature"):
        tint = LIGHTING[lighting.kind][2]
        image = image.point([min(255, int(v * tint[b] + 0.5)) for b in range(3) for v in range(256)])
        if kind != "nature":
            occlude(image, rng, 1.0, cars=True)
    return degrade(image.reduce(2), rng, lighting, 1.0)
