"""One photo of a landmark: a camera window on its canonical view, this photo's sky and light, people.

The camera moves (shift, zoom, crop, small rotation and perspective) more for landmarks whose
`jitter` is high; everything random comes from the photo's own Generator.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from samples.render.canvas import ellipse, hsv_color, mix, perspective_coeffs, rect, view_window
from samples.render.effects import (
    LIGHTING,
    Lighting,
    degrade,
    draw_lighting,
    occlude,
    person,
    sky,
    tint_lut,
)
from samples.render.specs import VIEW_DETAIL, VIEW_INSIDE, VIEW_OUTSIDE, LandmarkSpec
from samples.render.views import HORIZON


def _window(rng: np.random.Generator, viewpoint: str, jitter: float) -> tuple[float, float, float]:
    """(cx, cy, half) of the camera window in canvas fractions."""
    if viewpoint == VIEW_OUTSIDE:
        if rng.random() < 0.15 * jitter:  # a tight crop on part of the building
            half = float(rng.uniform(0.3, 0.4))
            return float(rng.uniform(0.5 - 0.15, 0.5 + 0.15)), float(rng.uniform(0.4, 0.6)), half
        half = float(np.clip(0.5 * np.exp(rng.normal(0.0, 0.12 * jitter)), 0.36, 0.7))
        return 0.5 + float(rng.normal(0, 0.05 * jitter)), 0.5 + float(rng.normal(0, 0.03 * jitter)), half
    half = float(rng.uniform(0.34, 0.44))
    room = max(0.0, 0.5 - half * 1.1)
    return 0.5 + float(rng.uniform(-room, room)), 0.5 + float(rng.uniform(-room, room)), half


def _backdrop(
    c: int,
    lighting: Lighting,
    rng: np.random.Generator,
    horizon: float,
    ground: tuple[int, int, int],
    tint: np.ndarray,
) -> Image.Image:
    """This photo's sky, distant clutter on the horizon and ground below it, (c, c) RGB."""
    image = sky(c, lighting, rng)
    draw = ImageDraw.Draw(image)
    haze = LIGHTING[lighting.kind][1]
    for _ in range(int(rng.integers(0, 6))):
        x, w = float(rng.uniform(-0.1, 1.0)), float(rng.uniform(0.05, 0.2))
        height = float(rng.uniform(0.04, 0.2))
        color = mix(hsv_color(float(rng.uniform(0, 1)), 0.2, float(rng.uniform(0.3, 0.6))), haze, 0.55)
        if rng.random() < 0.5:
            rect(draw, c, x, horizon - height, x + w, horizon + 0.01, color)
        else:
            green = mix(hsv_color(float(rng.uniform(0.22, 0.35)), 0.6, 0.4), haze, 0.4)
            ellipse(draw, c, x, horizon - height / 2, w / 2, height / 2 + 0.01, green)
    ground_t = tuple(int(min(255, v * t)) for v, t in zip(ground, tint, strict=True))
    rect(draw, c, -0.1, horizon, 1.1, 1.1, ground_t)  # type: ignore[arg-type]
    return image


def landmark_photo(
    spec: LandmarkSpec, viewpoint: str, view: Image.Image, size: int, rng: np.random.Generator
) -> Image.Image:
    """A (size x size) RGB photo of `spec` from `viewpoint`; `view`: its canonical RGBA view, side 2*size."""
    c = view.size[0]
    jitter = spec.jitter
    lighting = draw_lighting(rng, jitter)
    if viewpoint == VIEW_INSIDE:
        lighting = Lighting("day", lighting.gain, lighting.warmth + 0.05)
    cx, cy, half = _window(rng, viewpoint, jitter)
    tilt = tuple(float(v) for v in rng.normal(0.0, 0.04 * jitter, size=4))
    angle = float(rng.normal(0.0, 2.0 * jitter))
    quad = view_window(c, cx, cy, half, angle, tilt)  # type: ignore[arg-type]
    warped = view.transform(
        (c, c), Image.Transform.PERSPECTIVE, perspective_coeffs(quad, c), Image.Resampling.BILINEAR
    )
    tint = lighting.tint()
    horizon = (HORIZON - (cy - half)) / (2 * half)
    backdrop = (
        _backdrop(c, lighting, rng, horizon, spec.palette.ground, tint)
        if viewpoint != VIEW_INSIDE
        else Image.new("RGB", (c, c), (40, 34, 30))
    )
    lit = warped.point(tint_lut(tint, bands=4))
    photo = Image.alpha_composite(backdrop.convert("RGBA"), lit).convert("RGB")
    if viewpoint == VIEW_OUTSIDE:
        occlude(photo, rng, spec.occlusion, cars=spec.setting in ("plaza", "grass"))
    elif viewpoint == VIEW_INSIDE:
        occlude(photo, rng, 0.7 * spec.occlusion, cars=False)
    elif viewpoint == VIEW_DETAIL and rng.random() < 0.12 * spec.occlusion:
        person(ImageDraw.Draw(photo), c, float(rng.choice([0.1, 0.9])), 1.35, 1.0, rng)
    photo = photo.reduce(2) if c == 2 * size else photo.resize((size, size), Image.Resampling.BOX)
    return degrade(photo, rng, lighting, spec.jitter)
