"""A small offline map of cities as inline SVG, drawn from latitude / longitude alone (no tiles, no
network): an equirectangular projection of the cities' bounding box, a labelled graticule, one circle
per city sized by its photo count and linked to the city's section of the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT, MARGIN = 720, 380, 36
KM_PER_DEGREE = 111.32  # along a meridian
SCALE_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
GRID_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0)


@dataclass(frozen=True)
class CityPoint:
    """A city on the map: `anchor` is the id of its section on the page; `photos` sizes its circle."""

    name: str
    lat: float
    lon: float
    photos: int
    anchor: str


def _grid_step(span: float, lines: int = 5) -> float:
    """The smallest round step that draws at most about `lines` grid lines over `span` degrees."""
    return next((s for s in GRID_STEPS if span / s <= lines), GRID_STEPS[-1])


def _degrees(value: float, positive: str, negative: str, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{abs(value):.{decimals}f}°{positive if value >= 0 else negative}"


def _bounds(points: list[CityPoint]) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) with a margin; at least 1 degree tall and wide."""
    lats, lons = [p.lat for p in points], [p.lon for p in points]
    lat_pad = max(0.5, (max(lats) - min(lats)) * 0.15)
    lon_pad = max(0.5, (max(lons) - min(lons)) * 0.15)
    return (max(-90.0, min(lats) - lat_pad), min(90.0, max(lats) + lat_pad),
            max(-180.0, min(lons) - lon_pad), min(180.0, max(lons) + lon_pad))


def _scale_bar(px_per_degree: float) -> str:
    """A scale bar of a round length (about 80-200 px) in the top right corner."""
    px_per_km = px_per_degree / KM_PER_DEGREE
    km = next((k for k in SCALE_KM if k * px_per_km >= 80), SCALE_KM[-1])
    length, x, y = km * px_per_km, WIDTH - MARGIN, MARGIN / 2 + 6
    return (f"<g class='scale'><line x1='{x - length:.1f}' x2='{x:.1f}' y1='{y}' y2='{y}' stroke='#1d2730' "
            f"stroke-width='2'/><text x='{x:.1f}' y='{y - 5}' text-anchor='end' class='grid-label'>"
            f"{km:g} km</text></g>")


def city_map_svg(points: list[CityPoint], title: str = "Where the photos were taken") -> str:
    """An inline <svg> (viewBox 720 x 380) of `points`, or '' when there is none. Longitudes are
    scaled by cos(mean latitude), so distances look right near the cities."""
    points = [p for p in points if math.isfinite(p.lat) and math.isfinite(p.lon)]
    if not points:
        return ""
    lat0, lat1, lon0, lon1 = _bounds(points)
    squeeze = max(0.2, math.cos(math.radians((lat0 + lat1) / 2)))
    scale = min((WIDTH - 2 * MARGIN) / ((lon1 - lon0) * squeeze), (HEIGHT - 2 * MARGIN) / (lat1 - lat0))
    x_off = (WIDTH - (lon1 - lon0) * squeeze * scale) / 2
    y_off = (HEIGHT - (lat1 - lat0) * scale) / 2

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return x_off + (lon - lon0) * squeeze * scale, y_off + (lat1 - lat) * scale

    parts = [f"<svg class='city-map' viewBox='0 0 {WIDTH} {HEIGHT}' role='img' aria-labelledby='map-title' "
             f"xmlns='http://www.w3.org/2000/svg'><title id='map-title'>{escape(title)}</title>",
             f"<rect width='{WIDTH}' height='{HEIGHT}' rx='10' fill='#eef4f8'/>"]
    step = _grid_step(max(lat1 - lat0, lon1 - lon0))
    lat = math.ceil(lat0 / step) * step
    while lat <= lat1:
        _, y = xy(lat, lon0)
        parts.append(f"<line x1='0' x2='{WIDTH}' y1='{y:.1f}' y2='{y:.1f}' class='grid'/>"
                     f"<text x='4' y='{y - 3:.1f}' class='grid-label'>{_degrees(lat, 'N', 'S', step)}</text>")
        lat += step
    lon = math.ceil(lon0 / step) * step
    while lon <= lon1:
        x, _ = xy(lat0, lon)
        parts.append(f"<line y1='0' y2='{HEIGHT}' x1='{x:.1f}' x2='{x:.1f}' class='grid'/>"
                     f"<text x='{x + 3:.1f}' y='{HEIGHT - 5}' class='grid-label'>"
                     f"{_degrees(lon, 'E', 'W', step)}</text>")
        lon += step
    parts.append(_scale_bar(scale))
    most = max(1, max(p.photos for p in points))
    for p in sorted(points, key=lambda p: -p.photos):  # big circles first, small ones stay clickable
        x, y = xy(p.lat, p.lon)
        radius = 5 + 13 * math.sqrt(p.photos / most)
        label = f"{p.name} ({p.photos} photo{'s' if p.photos != 1 else ''})"
        right = x + radius + 4 + 7 * len(label) <= WIDTH  # else the label goes left of the circle
        text_x, anchor = (x + radius + 4, "start") if right else (x - radius - 4, "end")
        parts.append(
            f"<a href='#{escape(p.anchor)}' class='city-dot'><title>{escape(label)}</title>"
            f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{radius:.1f}'/>"
            f"<text x='{text_x:.1f}' y='{y + 4:.1f}' text-anchor='{anchor}'>{escape(label)}</text></a>"
        )
    parts.append("</svg>")
    return "".join(parts)
