"""The canonical picture of each (landmark, viewpoint): what every photo of that view is taken from.

A canonical view is an RGBA canvas of side c. Outside views hold the building and its ground band
(sky left transparent, filled per photo); inside views are opaque; details may leave sky transparent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw

from samples.render import architecture, interiors, monuments
from samples.render.canvas import line, rect, shade
from samples.render.details import DETAILS
from samples.render.specs import VIEW_DETAIL, VIEW_INSIDE, VIEW_OUTSIDE, LandmarkSpec, Palette

HORIZON = 0.8  # canvas fraction of the ground line in outside views

OutsideDrawer = Callable[[ImageDraw.ImageDraw, int, Palette, Sequence[float], float], None]
OUTSIDE: dict[str, OutsideDrawer] = {
    "cathedral": architecture.cathedral,
    "basilica": architecture.basilica,
    "mosque": architecture.mosque,
    "temple": architecture.temple,
    "castle": architecture.castle,
    "pagoda": architecture.pagoda,
    "triumphal_arch": architecture.triumphal_arch,
    "town_hall": architecture.town_hall,
    "clock_tower": monuments.clock_tower,
    "tv_tower": monuments.tv_tower,
    "iron_tower": monuments.iron_tower,
    "bridge": monuments.bridge,
    "pyramid": monuments.pyramid,
    "statue": monuments.statue,
    "ferris_wheel": monuments.ferris_wheel,
    "skyline": monuments.skyline,
    "lighthouse": monuments.lighthouse,
}
INTERIORS: dict[str, Callable[[ImageDraw.ImageDraw, int, Palette, Sequence[float]], None]] = {
    "nave": interiors.nave,
    "rotunda": interiors.rotunda,
    "hall": interiors.hall,
}


def draw_ground(
    draw: ImageDraw.ImageDraw, c: int, color: tuple[int, int, int], setting: str, top: float
) -> None:
    """The ground below the horizon `top`: paving, grass, water or sand, with a little texture."""
    rect(draw, c, -0.5, top, 1.5, 1.5, color)
    if setting == "plaza":
        for k in range(1, 8):
            y = top + (1 - top) * (k / 8) ** 1.6
            line(draw, c, [(-0.5, y), (1.5, y)], shade(color, 0.9), 0.002)
        for k in range(-8, 9):
            line(draw, c, [(0.5 + k * 0.02, top), (0.5 + k * 0.25, 1.0)], shade(color, 0.92), 0.002)
    elif setting == "water":
        for k in range(1, 10):
            y = top + (1 - top) * k / 10
            for j in range(6):
                x = (j + 0.5 * (k % 2)) / 6
                line(draw, c, [(x, y), (x + 0.06, y)], shade(color, 1.2), 0.003)
    elif setting == "grass":
        rect(draw, c, -0.5, top, 1.5, top + 0.02, shade(color, 0.8))
    else:
        for k in range(1, 5):
            y = top + (1 - top) * k / 5
            line(draw, c, [(-0.5, y), (1.5, y - 0.02)], shade(color, 0.93), 0.004)


def draw_view(spec: LandmarkSpec, viewpoint: str, c: int) -> Image.Image:
    """The canonical RGBA picture (c x c) of one viewpoint of one landmark."""
    image = Image.new("RGBA", (c, c), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    p, s = spec.palette, spec.shape
    if viewpoint == VIEW_OUTSIDE:
        draw_ground(draw, c, p.ground, spec.setting, HORIZON)
        OUTSIDE[spec.archetype](draw, c, p, s, HORIZON)
    elif viewpoint == VIEW_INSIDE:
        INTERIORS[spec.interior](draw, c, p, s)
    elif viewpoint == VIEW_DETAIL:
        DETAILS[spec.detail](draw, c, p, s)
    else:
        raise ValueError(f"unknown viewpoint {viewpoint!r} for landmark {spec.name}")
    return image


class ViewCache:
    """Canonical views drawn once per process and reused for every photo of that view."""

    def __init__(self, specs: Sequence[LandmarkSpec], c: int) -> None:
        self._specs = {spec.index: spec for spec in specs}
        self._c = c
        self._views: dict[tuple[int, str], Image.Image] = {}

    def get(self, landmark_index: int, viewpoint: str) -> Image.Image:
        """The RGBA canonical view (side c) of landmark `landmark_index`."""
        key = (landmark_index, viewpoint)
        if key not in self._views:
            self._views[key] = draw_view(self._specs[landmark_index], viewpoint, self._c)
        return self._views[key]
