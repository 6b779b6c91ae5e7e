"""Cleaning report: landmark table (CSV + markdown) and a gallery of kept vs removed photos."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from landmark.data.images import ImageDecodeError, load_rgb

log = logging.getLogger(__name__)


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table of a frame (no extra dependency)."""

    def cell(v: object) -> str:
        return format(v, floatfmt) if isinstance(v, float) else str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def gallery(
    rows: Sequence[tuple[str, Sequence[Path], Sequence[Path]]], path: Path, thumb: int = 64, per_side: int = 6
) -> Path:
    """Write a PNG: one band per landmark, kept photos on the left, removed on the right (red frame).

    rows: (landmark, kept photo paths, removed photo paths); at most per_side photos each side.
    """
    label_h, gap = 14, 12
    width = 2 * per_side * thumb + gap
    height = max(1, len(rows)) * (thumb + label_h)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (name, kept, removed) in enumerate(rows):
        top = r * (thumb + label_h)
        draw.text((2, top), f"{name}: kept (left) / removed (right)", fill="black")
        for side, photos in ((0, kept), (1, removed)):
            for c, photo in enumerate(list(photos)[:per_side]):
                try:
                    image = load_rgb(photo)
                except ImageDecodeError as exc:
                    log.warning("gallery: %s", exc)
                    continue
                image.thumbnail((thumb, thumb))
                x = side * (per_side * thumb + gap) + c * thumb
                canvas.paste(image, (x, top + label_h))
                if side == 1:
                    draw.rectangle(
                        [x, top + label_h, x + thumb - 1, top + label_h + thumb - 1], outline="red", width=2
                    )
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def write_report(
    out_dir: Path, landmarks: pd.DataFrame, metrics: dict[str, float], gallery_path: Path | None
) -> Path:
    """Write landmarks.csv and report.md in out_dir; returns report.md's path (landmarks.csv beside it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "landmarks.csv"
    landmarks.to_csv(csv_path, index=False)
    lines = ["# Cleaning report", "", "## Totals", ""]
    lines += [
        f"- {k}: {v:.4g}" if isinstance(v, float) else f"- {k}: {v}" for k, v in sorted(metrics.items())
    ]
    lines += [
        "",
        "## Landmarks (easiest first)",
        "",
        markdown_table(landmarks.sort_values(["part", "difficulty"])),
    ]
    if gallery_path is not None:
        lines += ["", f"![kept vs removed]({gallery_path.name})"]
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(lines) + "\n")
    return md_path
