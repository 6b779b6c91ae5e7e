"""The albums page a person opens: a static, offline HTML file (no CDN, no script) beside albums.json.

It says in sentences what was found, draws the cities on a small SVG map where their coordinates are
known, gives one section per city with its landmark albums (size, confidence, lazy thumbnails linked
to the photos), and keeps the photos without a landmark folded away. Every name and path that comes
from the user's files is HTML-escaped. Thumbnails are JPEG files in `thumbs/` next to the page.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from landmark.evaluation.city_map import CityPoint, city_map_svg

log = logging.getLogger(__name__)
THUMBS = "thumbs"
ALBUM_THUMB, REJECTED_THUMB = 160, 96
BORDERLINE = 0.6  # confidence is 0.5 at the threshold: below this an answer is close to a coin flip
UNKNOWN_CITY = "unknown city"
STYLE = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2730;background:#fafbfc}
main{max-width:1100px;margin:auto;padding:1.5em}
h1{margin:.2em 0}h2{margin:1.6em 0 .3em;border-bottom:2px solid #d9e2ea}h3{margin:1em 0 .1em}
.summary p{margin:.3em 0;font-size:16px}.meta{color:#5a6873;font-size:13px;margin:0 0 .4em}
.city-map{width:100%;max-width:720px;height:auto;display:block;margin:1em 0}
.grid{stroke:#c9d6e0;stroke-width:1}.grid-label{font-size:10px;fill:#7d8b96}
.city-dot circle{fill:#d9534f;fill-opacity:.75;stroke:#fff;stroke-width:2}
.city-dot text{font-size:12px;fill:#1d2730;paint-order:stroke;stroke:#eef4f8;stroke-width:3}
.city-dot:hover circle{fill:#a52a2a}
nav ul{padding-left:1.2em;columns:2}
.photos{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;width:164px;text-align:center;font-size:12px}
figure img{width:160px;height:120px;object-fit:cover;border-radius:6px;background:#e4e9ee}
figure.small{width:100px}figure.small img{width:96px;height:72px}
.borderline figcaption{color:#a15c00;font-weight:600}
details{margin:1.5em 0;background:#fff;border:1px solid #d9e2ea;border-radius:8px;padding:.6em 1em}
summary{cursor:pointer;font-weight:600}
"""


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary_sentences(albums: Mapping[str, Any]) -> list[str]:
    """What the page says first, in plain sentences (no markup)."""
    counts = albums["counts"]
    cities = [c for c in albums["cities"] if c != UNKNOWN_CITY]
    lines = [f"This folder holds {_plural(counts['photos'], 'photo')}."]
    if counts["recognised"]:
        where = f" in {_plural(len(cities), 'city', 'cities')}" if cities else ""
        lines.append(f"{_plural(counts['recognised'], 'photo')} show one of {_plural(counts['albums'], 'landmark')}"
                     f"{where}: each landmark gets an album below.")
    else:
        lines.append("No photo shows a landmark the recognizer knows.")
    if counts["no_landmark"]:
        lines.append(f"{_plural(counts['no_landmark'], 'photo')} show no known landmark "
                     "(people, food, streets, places it was not trained on); they are folded away at the end.")
    if counts["unreadable"]:
        lines.append(f"{_plural(counts['unreadable'], 'file')} could not be read as photos; the reasons are "
                     "listed at the end.")
    lines.append("Confidence says how sure the recognizer is: 50% at its decision threshold, near 100% for a "
                 f"clear match; answers under {BORDERLINE:.0%} are marked as borderline.")
    return lines


def _reason(photo: str, error: str) -> str:
    """The error without its leading '<path of the photo>: ' (the page names the photo already)."""
    path, sep, rest = error.partition(": ")
    return rest if sep and path.endswith(photo) else error


def _anchor(i: int) -> str:
    return f"city-{i}"


def _confidence(entries: list[dict[str, Any]]) -> str:
    values = [float(e["confidence"]) for e in entries]
    mean = sum(values) / len(values)
    return f"mean confidence {mean:.0%}, lowest {min(values):.0%}"


def city_points(albums: Mapping[str, Any], places: Mapping[str, tuple[float, float]]) -> list[CityPoint]:
    """The cities of the albums whose (lat, lon) is known and finite, with their photo counts."""
    points = []
    for i, (city, by_landmark) in enumerate(sorted(albums["cities"].items())):
        lat, lon = places.get(city, (math.nan, math.nan))
        if math.isfinite(lat) and math.isfinite(lon):
            photos = sum(len(entries) for entries in by_landmark.values())
            points.append(CityPoint(city, float(lat), float(lon), photos, _anchor(i)))
    return points


def render_albums_page(albums: Mapping[str, Any], thumb: Callable[[str], str | None], href: Callable[[str], str],
                       places: Mapping[str, tuple[float, float]] | None = None) -> str:
    """The page's HTML. `thumb(photo)`: the thumbnail's src (None: no thumbnail, a link instead);
    `href(photo)`: the link to the photo; `places`: city -> (lat, lon) for the map."""

    def figure(photo: Mapping[str, Any], small: bool = False) -> str:
        name = str(photo["photo"])
        src = thumb(name)
        conf = photo.get("confidence")
        caption = "" if small or conf is None else f"<figcaption>{float(conf):.0%}</figcaption>"
        classes = " ".join(c for c in ("small" if small else "",
                                       "borderline" if conf is not None and not small and float(conf) < BORDERLINE
                                       else "") if c)
        body = (f"<img loading='lazy' src='{escape(src)}' alt='{escape(name)}'>" if src is not None
                else escape(name))
        return (f"<figure class='{classes}' title='{escape(name)}'><a href='{escape(href(name))}'>{body}</a>"
                f"{caption}</figure>")

    cities = sorted(albums["cities"].items())
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>Landmark albums</title><style>{STYLE}</style></head><body><main>",
             "<h1>Landmark albums</h1><section class='summary'>",
             *(f"<p>{escape(line)}</p>" for line in summary_sentences(albums)), "</section>"]
    svg = city_map_svg(city_points(albums, places or {}))
    if svg:
        parts.append(f"<section class='map'><h2>Map</h2>{svg}<p class='meta'>Circles grow with the number of "
                     "photos; click one to jump to its city.</p></section>")
    elif cities:
        parts.append("<p class='meta'>No coordinates are known for these cities, so there is no map.</p>")
    if cities:
        parts.append("<nav><h2>Cities</h2><ul>")
        for i, (city, by_landmark) in enumerate(cities):
            n = sum(len(v) for v in by_landmark.values())
            parts.append(f"<li><a href='#{_anchor(i)}'>{escape(city)}</a>: {_plural(len(by_landmark), 'landmark')}, "
                         f"{_plural(n, 'photo')}</li>")
        parts.append("</ul></nav>")
    for i, (city, by_landmark) in enumerate(cities):
        n = sum(len(v) for v in by_landmark.values())
        parts.append(f"<section class='city' id='{_anchor(i)}'><h2>{escape(city)}</h2>"
                     f"<p class='meta'>{_plural(len(by_landmark), 'landmark')}, {_plural(n, 'photo')}</p>")
        for landmark, entries in sorted(by_landmark.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            parts.append(f"<article class='album'><h3>{escape(landmark)}</h3>"
                         f"<p class='meta'>{_plural(len(entries), 'photo')}, {_confidence(entries)}</p>"
                         "<div class='photos'>" + "".join(figure(e) for e in entries) + "</div></article>")
        parts.append("</section>")
    rejected = albums["no_landmark"]
    if rejected:
        parts.append(f"<details class='no-landmark'><summary>No landmark: {_plural(len(rejected), 'photo')}"
                     "</summary><div class='photos'>" + "".join(figure(e, small=True) for e in rejected)
                     + "</div></details>")
    errors = albums.get("errors", [])
    if errors:
        parts.append(f"<details class='unreadable' open><summary>Could not be read: {_plural(len(errors), 'file')}"
                     "</summary><ul>")
        parts.extend(f"<li><a href='{escape(href(str(e['photo'])))}'>{escape(str(e['photo']))}</a>: "
                     f"{escape(_reason(str(e['photo']), str(e['error'])))}</li>" for e in errors)
        parts.append("</ul></details>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_thumbnail(source: Path, target: Path, size: int) -> bool:
    """A JPEG thumbnail of `source` (longest side `size`) at `target`; False when it cannot be read."""
    from landmark.data.images import load_rgb

    try:
        image = load_rgb(source)
    except (OSError, ValueError) as exc:
        log.warning("no thumbnail for %s: %s", source, exc)
        return False
    image.thumbnail((size, size))
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, format="JPEG", quality=82)
    return True


def write_albums_page(albums: Mapping[str, Any], root: Path, out_dir: Path,
                      places: Mapping[str, tuple[float, float]] | None = None, max_rejected_thumbs: int = 500) -> Path:
    """Write out_dir/albums.html and its thumbnails (out_dir/thumbs/); photos are linked relative to the
    page. Photos without a landmark get thumbnails for the first `max_rejected_thumbs`, then a link."""
    out_dir = Path(out_dir)
    sizes: dict[str, int] = {}
    for by_landmark in albums["cities"].values():
        for entries in by_landmark.values():
            sizes.update({str(e["photo"]): ALBUM_THUMB for e in entries})
    sizes.update({str(e["photo"]): REJECTED_THUMB for e in albums["no_landmark"][:max_rejected_thumbs]})
    thumbs: dict[str, str] = {}
    for i, (photo, size) in enumerate(sizes.items()):
        name = f"{THUMBS}/{i:06d}.jpg"
        if write_thumbnail(Path(root) / photo, out_dir / name, size):
            thumbs[photo] = name

    def href(photo: str) -> str:  # relative to the page, percent-encoded ('#', '?', spaces in names)
        return quote(Path(os.path.relpath((Path(root) / photo).resolve(), out_dir.resolve())).as_posix())

    page = out_dir / "albums.html"
    page.write_text(render_albums_page(albums, thumbs.get, href, places), encoding="utf-8")
    return page
