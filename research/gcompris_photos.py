"""Real photographs from Debian's gcompris-qt-data (the educational suite GCompris; its images come from
Wikimedia Commons and its contributors, with a licence per file in the package's copyright file): world
monuments, and everyday subjects (fish, tools, household objects, animals, musicians, hands).

The package keeps its images inside compiled Qt resource bundles (research.qt_resources). The vetted
folders are listed below; drawings, paintings, planets and masked puzzle images are left out, and so
are the monuments that are among our own real landmarks (the Colosseum and the Berlin Cathedral of
../shared/data/real-landmarks), so every monument here is a landmark the folds never train on.
Each photo is written once as JPEG (quality 90, longer side at most `longest` px, as more-landmarks).
"""

from __future__ import annotations

import io
import logging
import re
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd
from PIL import Image

from research.qt_resources import read_resources

log = logging.getLogger("research.gcompris_photos")
PACKAGE = "gcompris-qt-data"
PREFIX = "gcompris/src/"  # bundle paths start here; the copyright file's paths start at src/
RCC = "usr/share/gcompris-qt/rcc"
# bundle -> (folder inside it, kind): the folders whose images are photographs
FOLDERS: dict[str, list[tuple[str, str]]] = {
    "explore_monuments": [("activities/explore_monuments/resource/", "monument")],
    "categorization": [("activities/categorization/resource/images/monuments/", "monument"),
                       ("activities/categorization/resource/images/fishes/", "everyday"),
                       ("activities/categorization/resource/images/tools/", "everyday"),
                       ("activities/categorization/resource/images/others/", "everyday")],
    "details": [("activities/details/resource/image/", "monument")],
    "explore_world_animals": [("activities/explore_world_animals/resource/animals/", "everyday")],
    "explore_farm_animals": [("activities/explore_farm_animals/resource/animals/", "everyday")],
    "explore_world_music": [("activities/explore_world_music/resource/music/", "everyday")],
    "leftright": [("activities/leftright/resource/", "everyday")],
}
# paintings in `details` (Van Gogh's), and monuments that are landmarks of the folds
LEFT_OUT = re.compile(r"gogh|portrait|eglise_dauvers|colosseum|berlincathedral", re.IGNORECASE)
SUFFIXES = (".webp", ".jpg", ".jpeg", ".png")
MIN_SIDE = 200  # smaller images are icons


def licence_of(copyright_text: str) -> list[tuple[list[str], str]]:
    """The copyright file's stanzas as (Files patterns, License), in file order."""
    stanzas = []
    for block in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:(.*(?:\n[ \t]+.*)*)", block, flags=re.M)
        licence = re.search(r"^License:\s*(.+)$", block, flags=re.M)
        if files and licence:
            stanzas.append((files.group(1).split(), licence.group(1).strip()))
    return stanzas


def photo_licence(source: str, stanzas: list[tuple[list[str], str]]) -> str:
    """The licence of `source` (a path from src/): the last stanza matching it wins (Debian copyright
    format); the bundles hold .webp conversions of the listed .jpg / .png files, so any suffix matches."""
    stem = source.rsplit(".", 1)[0]
    found = "unknown"
    for patterns, licence in stanzas:
        if any(fnmatch(f"{stem}{s}", p) for p in patterns for s in SUFFIXES):
            found = licence
    return found


def gcompris_photos(root: Path, out: Path, longest: int = 256) -> pd.DataFrame:
    """Rows (image_id, path, kind, name, source, licence) of the vetted photos of the package extracted
    at `root`, written under `out` (reused when there)."""
    copyright_file = root / "usr" / "share" / "doc" / PACKAGE / "copyright"
    stanzas = licence_of(copyright_file.read_text(errors="replace")) if copyright_file.is_file() else []
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for bundle, folders in FOLDERS.items():
        path = root / RCC / f"{bundle}.rcc"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: {PACKAGE} has no bundle {bundle}.rcc")
        for inner, data in sorted(read_resources(path).items()):
            folder = next((kind for f, kind in folders if inner.startswith(PREFIX + f)), None)
            if folder is None or not inner.lower().endswith(SUFFIXES) or LEFT_OUT.search(inner):
                continue
            source = inner[len("gcompris/"):]
            name = Path(inner).stem.removesuffix("_background")
            image_id = f"gcompris-{bundle}-{Path(inner).parent.name}-{name}"
            target = out / f"{image_id}.jpg"
            if not target.is_file():
                original = Image.open(io.BytesIO(data))
                if min(original.size) < MIN_SIDE:
                    continue
                image = original.convert("RGB")
                image.thumbnail((longest, longest), Image.Resampling.BICUBIC)
                image.save(target, quality=90)
            rows.append({"image_id": image_id, "path": str(target.resolve()), "kind": folder, "name": name,
                         "source": f"{PACKAGE}:{source}", "licence": photo_licence(source, stanzas)})
    frame = pd.DataFrame(rows)
    log.info("%s: %d photos (%s)", PACKAGE, len(frame), frame["kind"].value_counts().to_dict() if len(frame) else {})
    return frame
