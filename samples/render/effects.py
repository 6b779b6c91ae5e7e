"""What makes a photo a photo: lighting and sky, people and cars in front, camera shake, blur, noise.

All functions take a numpy Generator so a photo is reproducible from its own seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from samples.render.canvas import Color, ellipse, hsv_color, rect, shade, vertical_gradient

# kind -> (sky top, sky bottom, multiplicative tint of lit surfaces)
LIGHTING: dict[str, tuple[Color, Color, tuple[float, float, float]]] = {
    "day": ((62, 120, 205), (175, 208, 240), (1.0, 1.0, 1.0)),
    "overcast": ((150, 156, 166), (205, 206, 210), (0.85, 0.87, 0.92)),
    "dusk": ((55, 48, 110), (250, 150, 95), (0.95, 0.72, 0.6)),
    "night": ((6, 10, 32), (30, 42, 86), (0.7, 0.58, 0.42)),
}
LIGHTING_KINDS = ("day", "overcast", "dusk", "night")
LIGHTING_WEIGHTS = (0.6, 0.15, 0.15, 0.1)


@dataclass(frozen=True)
class Lighting:
    """One photo's light: kind (a LIGHTING key), exposure gain and a colour-temperature shift."""

    kind: str
    gain: float
    warmth: float

    def tint(self) -> np.ndarray:
        """(3,) float32 multiplier for lit surfaces."""
        base = np.asarray(LIGHTING[self.kind][2], dtype=np.float32)
        return base * np.asarray([1 + self.warmth, 1.0, 1 - self.warmth], dtype=np.float32)


def draw_lighting(rng: np.random.Generator, spread: float = 1.0) -> Lighting:
    """A random lighting; `spread` > 1 makes exposure and colour vary more."""
    kind = str(rng.choice(LIGHTING_KINDS, p=LIGHTING_WEIGHTS))
    return Lighting(
        kind, float(np.exp(rng.normal(0.0, 0.14 * spread))), float(rng.normal(0.0, 0.04 * spread))
    )


_GRADIENTS: dict[tuple[str, int], Image.Image] = {}


def sky(size: int, lighting: Lighting, rng: np.random.Generator) -> Image.Image:
    """(size x size) RGB sky: the lighting's gradient with a few soft clouds (day/overcast/dusk) or stars."""
    top, bottom, _ = LIGHTING[lighting.kind]
    key = (lighting.kind, size)
    if key not in _GRADIENTS:
        _GRADIENTS[key] = Image.fromarray(
            vertical_gradient(size, size, top, bottom).astype(np.uint8), mode="RGB"
        )
    image = _GRADIENTS[key].copy()
    if lighting.kind in ("day", "overcast", "dusk") and rng.random() < 0.7:
        small = max(8, size // 4)
        clouds = Image.new("L", (small, small), 0)
        draw = ImageDraw.Draw(clouds)
        for _ in range(int(rng.integers(1, 5))):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0.05, 0.45), rng.uniform(0.05, 0.14)
            for _ in range(4):
                ox, oy = rng.uniform(-r, r), rng.uniform(-r / 3, r / 3)
                draw.ellipse(
                    [
                        (cx + ox - r) * small,
                        (cy + oy - r / 2) * small,
                        (cx + ox + r) * small,
                        (cy + oy + r / 2) * small,
                    ],
                    fill=int(rng.uniform(120, 220)),
                )
        mask = clouds.filter(ImageFilter.BoxBlur(1)).resize((size, size), Image.Resampling.BILINEAR)
        image = Image.composite(Image.new("RGB", (size, size), shade(bottom, 1.08)), image, mask)
    if lighting.kind == "night":
        for y, x in zip(rng.integers(0, size // 2, 20), rng.integers(0, size, 20), strict=True):
            image.putpixel((int(x), int(y)), (230, 230, 230))
    return image


def tint_lut(gain: tuple[float, float, float] | np.ndarray, bands: int = 3) -> list[int]:
    """A PIL `point` table multiplying each of the first three bands by its gain (alpha kept)."""
    gains = np.ones(bands, dtype=np.float64)
    gains[:3] = np.asarray(gain, dtype=np.float64)[:3]
    table = np.minimum(255.0, np.arange(256, dtype=np.float64)[None, :] * gains[:, None] + 0.5)
    return [int(v) for v in table.astype(np.int64).ravel()]


def person(
    draw: ImageDraw.ImageDraw, c: int, x: float, base: float, height: float, rng: np.random.Generator
) -> None:
    """A standing person (head, torso, legs) of `height` with feet at (x, base), in canvas fractions."""
    skin = hsv_color(
        float(rng.uniform(0.04, 0.09)), float(rng.uniform(0.3, 0.6)), float(rng.uniform(0.35, 0.9))
    )
    shirt = hsv_color(float(rng.uniform(0, 1)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.3, 0.9)))
    trousers = hsv_color(
        float(rng.uniform(0.55, 0.7)), float(rng.uniform(0.1, 0.6)), float(rng.uniform(0.15, 0.5))
    )
    w = height * 0.28
    rect(draw, c, x - w * 0.35, base - height * 0.45, x - w * 0.05, base, trousers)
    rect(draw, c, x + w * 0.05, base - height * 0.45, x + w * 0.35, base, trousers)
    rect(draw, c, x - w / 2, base - height * 0.82, x + w / 2, base - height * 0.42, shirt)
    ellipse(draw, c, x, base - height * 0.9, height * 0.085, height * 0.1, skin)
    ellipse(draw, c, x, base - height * 0.95, height * 0.088, height * 0.06, shade(skin, 0.4))


def car(
    draw: ImageDraw.ImageDraw, c: int, x: float, base: float, width: float, rng: np.random.Generator
) -> None:
    """A car seen from the side, `width` wide, wheels on `base`, in canvas fractions."""
    body = hsv_color(float(rng.uniform(0, 1)), float(rng.uniform(0.0, 0.8)), float(rng.uniform(0.2, 0.95)))
    h = width * 0.32
    draw.rounded_rectangle(
        [(x - width / 2) * c, (base - h) * c, (x + width / 2) * c, (base - h * 0.2) * c],
        radius=max(1, int(h * c * 0.3)),
        fill=body,
    )
    draw.polygon(
        [
            ((x - width * 0.3) * c, (base - h) * c),
            ((x - width * 0.18) * c, (base - h * 1.7) * c),
            ((x + width * 0.2) * c, (base - h * 1.7) * c),
            ((x + width * 0.33) * c, (base - h) * c),
        ],
        fill=body,
    )
    rect(draw, c, x - width * 0.17, base - h * 1.6, x + width * 0.18, base - h * 1.05, (120, 150, 170))
    for wx in (x - width * 0.3, x + width * 0.3):
        ellipse(draw, c, wx, base - h * 0.2, h * 0.35, h * 0.35, (25, 25, 25))


def occlude(image: Image.Image, rng: np.random.Generator, amount: float, cars: bool) -> None:
    """Draw people (and cars, outdoors) in the lower part of an RGB image, in place; `amount` ~ crowd size."""
    c = image.size[0]
    draw = ImageDraw.Draw(image)
    items = [("person", float(rng.uniform(0, 1))) for _ in range(int(rng.poisson(1.3 * amount)))]
    if cars:
        items += [("car", float(rng.uniform(0, 1))) for _ in range(int(rng.poisson(0.5 * amount)))]
    for kind, depth in sorted(items, key=lambda item: item[1]):
        base = 0.82 + 0.2 * depth
        if kind == "person":
            person(draw, c, float(rng.uniform(0.05, 0.95)), base, 0.12 + 0.45 * depth**2, rng)
        else:
            car(draw, c, float(rng.uniform(0.0, 1.0)), base, 0.25 + 0.35 * depth, rng)


def degrade(image: Image.Image, rng: np.random.Generator, lighting: Lighting, strength: float) -> Image.Image:
    """Exposure, blur (sometimes) and sensor noise; returns a new RGB image of the same size."""
    if rng.random() < 0.25 * strength:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.4))))
    image = image.point(tint_lut((lighting.gain,) * 3))
    sigma = float(rng.uniform(0.0, 5.0 * strength)) + (4.0 if lighting.kind == "night" else 0.0)
    if sigma <= 0.5:
        return image
    noise = rng.standard_normal((image.size[1], image.size[0], 3), dtype=np.float32) * sigma
    array = np.asarray(image, dtype=np.int16) + noise.astype(np.int16)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="RGB")
