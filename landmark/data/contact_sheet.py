"""A contact sheet of a photo collection: one labelled row per landmark, for a person to look at."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from landmark.data.images import ImageDecodeError, load_rgb
from landmark.data.manifest import NON_LANDMARK, read_manifest

log = logging.getLogger(__name__)

LABEL_WIDTH = 190
TILE = 96
GAP = 2


def _pick(paths: list[str], count: int, viewpoints: list[str]) -> list[str]:
    """Up to `count` paths, cycling over viewpoints so each one shows up."""
    by_view: dict[str, list[str]] = {}
    for path, view in zip(paths, viewpoints, strict=True):
        by_view.setdefault(view, []).append(path)
    picked: list[str] = []
    while len(picked) < count and any(by_view.values()):
        for view in sorted(by_view):
            if by_view[view] and len(picked) < count:
                picked.append(by_view[view].pop(0))
    return picked


def render_contact_sheet(
    manifest_csv: Path,
    data_root: Path,
    out_png: Path,
    per_landmark: int = 6,
    n_landmarks: int = 12,
    include_non_landmark: bool = True,
    seed: int = 0,
) -> Path:
    """Write a PNG grid: `n_landmarks` landmarks (rows, labelled), `per_landmark` photos each.

    Landmarks are taken in order of first appearance in the manifest; photos cycle over the
    `viewpoint` column when there is one. With `include_non_landmark`, one extra row shows random
    non-landmark photos. Unreadable photos are drawn as grey tiles. Returns `out_png`.
    """
    manifest = read_manifest(Path(manifest_csv))
    views = manifest["viewpoint"] if "viewpoint" in manifest.columns else manifest["landmark"] * 0
    landmarks = [name for name in dict.fromkeys(manifest["landmark"]) if name != NON_LANDMARK][:n_landmarks]
    rows: list[tuple[str, list[str]]] = []
    for name in landmarks:
        mask = manifest["landmark"] == name
        rows.append(
            (name, _pick(list(manifest.loc[mask, "path"]), per_landmark, list(views[mask].astype(str))))
        )
    if include_non_landmark and (manifest["landmark"] == NON_LANDMARK).any():
        paths = list(manifest.loc[manifest["landmark"] == NON_LANDMARK, "path"])
        order = np.random.default_rng(seed).permutation(len(paths))[:per_landmark]
        rows.append(("(no landmark)", [paths[i] for i in order]))
    width = LABEL_WIDTH + per_landmark * (TILE + GAP)
    sheet = Image.new("RGB", (width, max(1, len(rows)) * (TILE + GAP)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for r, (name, paths) in enumerate(rows):
        y = r * (TILE + GAP)
        label = name if len(name) <= 28 else name[:27] + "~"
        draw.text((4, y + TILE // 2 - 6), label, fill=(0, 0, 0), font=font)
        for k, rel in enumerate(paths):
            try:
                tile = load_rgb(Path(data_root) / rel).resize((TILE, TILE), Image.Resampling.BILINEAR)
            except ImageDecodeError as exc:
                log.warning("contact sheet: %s", exc)
                tile = Image.new("RGB", (TILE, TILE), (128, 128, 128))
            sheet.paste(tile, (LABEL_WIDTH + k * (TILE + GAP), y))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_png, format="PNG")
    log.info("contact sheet of %d rows written to %s", len(rows), out_png)
    return out_png
