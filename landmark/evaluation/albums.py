"""Albums: a folder of photos grouped per landmark and per city, as JSON and a static HTML page."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from landmark.retrieval.recognizer import Prediction

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def find_photos(folder: Path) -> list[Path]:
    """Photo files under `folder` (recursive), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def group_albums(paths: Sequence[Path], predictions: Sequence[Prediction], root: Path) -> dict[str, Any]:
    """{'cities': {city: {landmark: [photo...]}}, 'landmarks': {landmark: {'city', 'photos'}},
    'no_landmark': [...], 'errors': [{'photo', 'error'}], 'counts': {...}}; photos relative to root.
    A photo whose prediction carries an error (unreadable) goes to 'errors' with the reason."""
    cities: dict[str, dict[str, list[dict[str, object]]]] = {}
    rest: list[dict[str, object]] = []
    errors: list[dict[str, object]] = []
    for path, pred in zip(paths, predictions, strict=True):
        photo = str(Path(path).relative_to(root))
        if pred.error is not None:
            errors.append({"photo": photo, "error": pred.error})
            continue
        entry = {"photo": photo, "confidence": round(pred.confidence, 4), "similarity": round(pred.similarity, 4)}
        if pred.landmark is None:
            rest.append(entry)
        else:
            cities.setdefault(pred.city or "unknown city", {}).setdefault(pred.landmark, []).append(entry)
    landmarks = {
        name: {"city": city, "photos": [e["photo"] for e in entries]}
        for city, by_landmark in cities.items()
        for name, entries in by_landmark.items()
    }
    return {
        "cities": cities,
        "landmarks": dict(sorted(landmarks.items())),
        "no_landmark": rest,
        "errors": errors,
        "counts": {
            "photos": len(paths),
            "recognised": sum(len(v["photos"]) for v in landmarks.values()),
            "no_landmark": len(rest),
            "unreadable": len(errors),
            "albums": len(landmarks),
        },
    }


def _thumb(path: Path, size: int = 128) -> str:
    from landmark.data.images import load_rgb

    image = load_rgb(path)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _href(root: Path, photo: str, out_dir: Path | None) -> str:
    target = Path(root) / photo
    if out_dir is None:
        return target.resolve().as_uri()
    return Path(os.path.relpath(target.resolve(), Path(out_dir).resolve())).as_posix()


def albums_html(albums: dict, root: Path, show_rejected: int = 24, out_dir: Path | None = None) -> str:
    """A self-contained page: one section per city, one album per landmark, base64 thumbnails; every
    photo is linked (relative to out_dir, where the page is written, else by file URI). Photos without
    a landmark get thumbnails for the first `show_rejected`, then links; unreadable ones their reason."""
    esc = html.escape

    def link(photo: str, body: str) -> str:
        return f"<a href='{esc(_href(root, photo, out_dir))}' title='{esc(photo)}'>{body}</a>"

    parts = [
        "<!doctype html><meta charset='utf-8'><title>Landmark albums</title>",
        "<style>body{font-family:sans-serif;margin:2em}img{margin:2px;border-radius:4px}"
        "figure{display:inline-block;margin:4px;text-align:center;font-size:11px}</style>",
        f"<h1>Landmark albums</h1><p>{esc(str(albums['counts']))}</p>",
    ]
    for city, landmarks in sorted(albums["cities"].items()):
        parts.append(f"<h2>{esc(city)}</h2>")
        for landmark, photos in sorted(landmarks.items()):
            parts.append(f"<h3>{esc(landmark)} ({len(photos)})</h3><div>")
            for p in photos:
                image = f"<img src='{_thumb(root / p['photo'])}' alt='{esc(p['photo'])}'>"
                parts.append(
                    f"<figure>{link(p['photo'], image)}<figcaption>{p['confidence']:.2f}</figcaption></figure>"
                )
            parts.append("</div>")
    rejected = albums["no_landmark"]
    parts.append(f"<h2>No landmark ({len(rejected)})</h2><div>")
    for i, p in enumerate(rejected):
        body = f"<img src='{_thumb(root / p['photo'], 64)}' alt='{esc(p['photo'])}'>" if i < show_rejected else ""
        parts.append(link(p["photo"], body or esc(p["photo"])) + (" " if body else "<br>"))
    parts.append("</div>")
    errors = albums.get("errors", [])
    if errors:
        parts.append(f"<h2>Unreadable ({len(errors)})</h2><ul>")
        parts.extend(f"<li>{link(e['photo'], esc(e['photo']))}: {esc(str(e['error']))}</li>" for e in errors)
        parts.append("</ul>")
    return "\n".join(parts)
