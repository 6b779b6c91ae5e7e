"""The landmarks of the sample world: kind, name, city, place, palette, shape, viewpoints, difficulty.

A `LandmarkSpec` holds everything needed to draw the same landmark again and again; it is derived
from the seed alone, so every worker process rebuilds identical specs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from samples.render.canvas import Color, hsv_color, jitter_color

VIEW_OUTSIDE, VIEW_INSIDE, VIEW_DETAIL = "outside", "inside", "detail"

# archetype -> (name pattern, interior kind or "", detail kind, setting)
ARCHETYPES: dict[str, tuple[str, str, str, str]] = {
    "cathedral": ("cathedral_of_saint_{}", "nave", "rose_window", "plaza"),
    "basilica": ("basilica_of_{}", "rotunda", "dome_top", "plaza"),
    "mosque": ("{}_grand_mosque", "rotunda", "dome_top", "plaza"),
    "temple": ("temple_of_{}", "hall", "frieze", "grass"),
    "castle": ("{}_castle", "hall", "battlement", "grass"),
    "pagoda": ("{}_pagoda", "", "eave", "grass"),
    "clock_tower": ("{}_clock_tower", "", "clock", "plaza"),
    "tv_tower": ("{}_tv_tower", "", "tower_top", "grass"),
    "iron_tower": ("{}_iron_tower", "", "lattice", "grass"),
    "bridge": ("{}_bridge", "", "cables", "water"),
    "pyramid": ("pyramid_of_{}", "", "masonry", "sand"),
    "statue": ("statue_of_{}", "", "statue_head", "plaza"),
    "ferris_wheel": ("{}_wheel", "", "gondolas", "plaza"),
    "skyline": ("{}_towers", "", "tower_top", "plaza"),
    "triumphal_arch": ("arch_of_{}", "", "frieze", "plaza"),
    "lighthouse": ("{}_lighthouse", "", "lantern", "water"),
    "town_hall": ("{}_town_hall", "hall", "clock", "plaza"),
}
DISTINCT_ARCHETYPES = tuple(a for a in ARCHETYPES if a != "town_hall")

CITIES: tuple[tuple[str, float, float], ...] = (
    ("aurelia", 43.771, 11.254),
    ("valdoria", 48.208, 16.372),
    ("montecarra", 40.417, -3.704),
    ("nordhavn", 59.913, 10.752),
    ("kesh", 30.044, 31.236),
    ("san_oriel", 19.433, -99.133),
    ("talmyra", 35.676, 139.650),
    ("port_ilse", -33.869, 151.209),
)
STEMS: tuple[str, ...] = (
    "ilario",
    "severin",
    "marcella",
    "orsino",
    "benedetta",
    "casimir",
    "lucian",
    "ottavia",
    "remus",
    "sabina",
    "tiberio",
    "valentin",
    "zeno",
    "amara",
    "bruno",
    "cosimo",
    "delphine",
    "emilio",
    "fausta",
    "gregor",
    "helena",
    "ignatius",
    "jovita",
    "leandro",
    "mirela",
    "nerio",
    "octavia",
    "petra",
    "quirino",
    "rosalind",
    "silvio",
    "teodora",
    "ulrich",
    "vesna",
    "wilhelm",
    "xaveria",
    "yolanda",
    "zaccaria",
    "aldo",
    "bianca",
)
# trait -> (difficulty centre, jitter scale, occlusion scale)
TRAITS: dict[str, tuple[float, float, float]] = {
    "distinctive": (0.15, 0.8, 0.7),
    "normal": (0.35, 1.0, 1.0),
    "variable": (0.65, 1.7, 2.0),
    "twin": (0.70, 1.0, 1.0),
    "plain": (0.80, 1.0, 1.2),
}


@dataclass(frozen=True)
class Palette:
    """The colours of one landmark."""

    wall: Color
    roof: Color
    accent: Color
    trim: Color
    glass: Color
    ground: Color


@dataclass(frozen=True)
class LandmarkSpec:
    """One landmark of the sample world; `shape` holds 8 numbers in [0, 1] that its drawer reads."""

    index: int
    name: str
    city: str
    lat: float
    lon: float
    archetype: str
    trait: str
    difficulty: float
    palette: Palette
    shape: tuple[float, ...]
    viewpoints: tuple[str, ...]
    jitter: float
    occlusion: float

    @property
    def interior(self) -> str:
        return ARCHETYPES[self.archetype][1]

    @property
    def detail(self) -> str:
        return ARCHETYPES[self.archetype][2]

    @property
    def setting(self) -> str:
        return ARCHETYPES[self.archetype][3]


def _palette(rng: np.random.Generator, hue: float, archetype: str, plain: bool) -> Palette:
    if plain:
        grey = float(rng.uniform(0.55, 0.8))
        wall = hsv_color(float(rng.uniform(0.05, 0.15)), float(rng.uniform(0.05, 0.2)), grey)
        roof = hsv_color(float(rng.uniform(0.0, 1.0)), 0.1, grey * 0.6)
    else:
        wall = hsv_color(hue, float(rng.uniform(0.15, 0.65)), float(rng.uniform(0.6, 0.95)))
        roof = hsv_color(
            hue + float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.35, 0.85)), float(rng.uniform(0.35, 0.85))
        )
    accent = hsv_color(
        hue + float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.6, 1.0))
    )
    trim = hsv_color(hue, float(rng.uniform(0.0, 0.3)), float(rng.uniform(0.85, 1.0)))
    glass = hsv_color(
        float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.5, 0.9))
    )
    if archetype == "pyramid":  # sandstone
        wall = hsv_color(
            float(rng.uniform(0.08, 0.13)), float(rng.uniform(0.25, 0.55)), float(rng.uniform(0.7, 0.9))
        )
    setting = ARCHETYPES[archetype][3]
    ground = {
        "plaza": hsv_color(
            float(rng.uniform(0.05, 0.12)), float(rng.uniform(0.05, 0.3)), float(rng.uniform(0.45, 0.75))
        ),
        "grass": hsv_color(
            float(rng.uniform(0.22, 0.33)), float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.35, 0.6))
        ),
        "water": hsv_color(
            float(rng.uniform(0.5, 0.62)), float(rng.uniform(0.4, 0.7)), float(rng.uniform(0.35, 0.6))
        ),
        "sand": hsv_color(
            float(rng.uniform(0.09, 0.13)), float(rng.uniform(0.35, 0.55)), float(rng.uniform(0.75, 0.9))
        ),
    }[setting]
    return Palette(wall, roof, accent, trim, glass, ground)


def _traits(n: int, rng: np.random.Generator) -> list[str]:
    n_twin_pairs, n_plain = n // 10, max(1, n // 10) if n >= 4 else 0
    n_variable, n_distinctive = n // 6, n // 5
    traits = ["twin"] * (2 * n_twin_pairs) + ["plain"] * n_plain + ["variable"] * n_variable
    traits += ["distinctive"] * n_distinctive
    traits += ["normal"] * (n - len(traits))
    return traits[:n]


def _viewpoints(archetype: str) -> tuple[str, ...]:
    if ARCHETYPES[archetype][1]:
        return (VIEW_OUTSIDE, VIEW_INSIDE, VIEW_DETAIL)
    return (VIEW_OUTSIDE, VIEW_DETAIL)


def make_landmark_specs(n_landmarks: int, seed: int) -> list[LandmarkSpec]:
    """The `n_landmarks` landmarks of the world for `seed`, in a fixed order (index 0..n-1).

    Twins come in adjacent pairs (same archetype, nearly the same palette and shape, same city).
    """
    rng = np.random.default_rng([seed, 7001])
    traits = _traits(n_landmarks, rng)
    n_cities = max(1, min(len(CITIES), math.ceil(n_landmarks / 4)))
    archetypes = list(rng.permutation(DISTINCT_ARCHETYPES))
    stems = [
        STEMS[i % len(STEMS)] + ("" if i < len(STEMS) else f"_{i // len(STEMS) + 1}")
        for i in rng.permutation(max(n_landmarks, len(STEMS)))[:n_landmarks]
    ]
    specs: list[LandmarkSpec] = []
    golden = 0.6180339887
    next_archetype = 0
    for i, trait in enumerate(traits):
        twin_of = (
            specs[-1] if trait == "twin" and i % 2 == 1 and specs and specs[-1].trait == "twin" else None
        )
        if trait == "plain":
            archetype = "town_hall"
        elif twin_of is not None:
            archetype = twin_of.archetype
        else:
            archetype, next_archetype = str(archetypes[next_archetype % len(archetypes)]), next_archetype + 1
        city_index = i % n_cities
        if twin_of is not None:
            archetype, city_index = twin_of.archetype, [c[0] for c in CITIES].index(twin_of.city)
        city, city_lat, city_lon = CITIES[city_index]
        radius_deg = 0.03  # about 3 km
        lat = city_lat + float(rng.uniform(-radius_deg, radius_deg))
        lon = city_lon + float(rng.uniform(-radius_deg, radius_deg)) / math.cos(math.radians(city_lat))
        shape = tuple(float(v) for v in rng.uniform(0.0, 1.0, size=8))
        palette = _palette(rng, (i * golden) % 1.0, archetype, trait == "plain")
        if twin_of is not None:
            p = twin_of.palette
            palette = Palette(
                *(
                    jitter_color(col, rng, 14.0)
                    for col in (p.wall, p.roof, p.accent, p.trim, p.glass, p.ground)
                )
            )
            shape = tuple(float(np.clip(s + rng.uniform(-0.12, 0.12), 0, 1)) for s in twin_of.shape)
        centre, jitter, occlusion = TRAITS[trait]
        specs.append(
            LandmarkSpec(
                index=i,
                name=ARCHETYPES[archetype][0].format(stems[i]),
                city=city,
                lat=round(lat, 6),
                lon=round(lon, 6),
                archetype=archetype,
                trait=trait,
                difficulty=round(float(np.clip(centre + rng.uniform(-0.05, 0.05), 0.0, 1.0)), 3),
                palette=palette,
                shape=shape,
                viewpoints=_viewpoints(archetype),
                jitter=jitter,
                occlusion=occlusion,
            )
        )
    return specs


def viewpoint_plan(spec: LandmarkSpec, n_photos: int) -> list[str]:
    """The viewpoint of each of a landmark's `n_photos` photos (fixed quotas, every view at least once)."""
    weights = {VIEW_OUTSIDE: 0.5, VIEW_INSIDE: 0.27, VIEW_DETAIL: 0.23}
    views = list(spec.viewpoints)
    total = sum(weights[v] for v in views)
    counts = [max(1, round(n_photos * weights[v] / total)) for v in views]
    counts[0] += n_photos - sum(counts)
    plan = [v for v, k in zip(views, counts, strict=True) for _ in range(max(0, k))]
    return plan[:n_photos]
