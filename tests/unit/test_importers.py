"""Folder and manifest imports into a temporary data root: labels, ids, checksums, quarantine, modes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from landmark.data.import_store import DataImportError, NothingImported
from landmark.data.importers import add_non_landmarks, import_folder, import_manifest
from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.data.quarantine import ImportSummary, read_quarantine
from tests.project_limits import IMPORT_LIMITS


def photo(path: Path, seed: int, fmt: str = "PNG", size: int = 24) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, format=fmt)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_counts(summary: ImportSummary) -> None:
    assert summary.rows_in == summary.imported + summary.skipped_duplicates + summary.quarantined
    assert sum(summary.by_reason.values()) == summary.quarantined
    assert summary.quarantine_path is not None
    assert len(read_quarantine(summary.quarantine_path)) == summary.quarantined


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    photo(src / "eiffel" / "a.png", 1)
    photo(src / "eiffel" / "b.jpg", 2, "JPEG")
    photo(src / "big_ben" / "x.png", 3)
    photo(src / "big_ben" / "nested" / "y.png", 4)
    photo(src / "non_landmark" / "street.png", 5)
    (src / "big_ben" / "notes.txt").write_text("not a photo")
    (src / "eiffel" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (src / "eiffel" / ".DS_Store").write_bytes(b"\0\0")  # hidden: not an input row
    photo(src / "loose.png", 6)  # not inside a landmark folder
    return src


def test_folder_import_labels_ids_and_checksums(folder: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    summary = import_folder(folder, root, mode="replace", limits=IMPORT_LIMITS)
    check_counts(summary)
    assert (summary.rows_in, summary.imported, summary.quarantined) == (8, 5, 3)
    assert summary.by_reason == {
        "unsupported file type": 1,
        "truncated": 1,
        "file not in a landmark folder": 1,
    }
    manifest = read_manifest(root / "manifest.csv")
    assert sorted(manifest["landmark"]) == sorted(["eiffel", "eiffel", "big_ben", "big_ben", NON_LANDMARK])
    row = manifest[manifest["image_id"].str.startswith("a-")].iloc[0]
    assert row["image_id"] == f"a-{sha(folder / 'eiffel' / 'a.png')[:12]}"
    assert row["path"] == f"images/{row['image_id']}.png"
    for item in manifest.itertuples():
        assert sha(root / item.path) == item.sha256
    assert manifest.loc[manifest["image_id"].str.startswith("b-"), "path"].iloc[0].endswith(".jpg")


def test_folder_rerun_extend_skips_duplicates(folder: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    import_folder(folder, root, mode="replace", limits=IMPORT_LIMITS)
    again = import_folder(folder, root, mode="extend", limits=IMPORT_LIMITS)
    check_counts(again)
    assert (again.imported, again.skipped_duplicates, again.quarantined) == (0, 5, 3)
    assert len(read_manifest(root / "manifest.csv")) == 5


def test_add_non_landmarks(tmp_path: Path) -> None:
    root = tmp_path / "data"
    photo(tmp_path / "lm" / "tower" / "t.png", 10)
    import_folder(tmp_path / "lm", root, mode="replace", limits=IMPORT_LIMITS)
    photo(tmp_path / "nl" / "cat.png", 11)
    photo(tmp_path / "nl" / "sub" / "car.jpg", 12, "JPEG")
    summary = add_non_landmarks(tmp_path / "nl", root, limits=IMPORT_LIMITS)
    check_counts(summary)
    manifest = read_manifest(root / "manifest.csv")
    assert summary.imported == 2 and summary.manifest_rows == 3
    assert (manifest["landmark"] == NON_LANDMARK).sum() == 2


def test_manifest_import_paths_missing_duplicates_outside(tmp_path: Path) -> None:
    src = tmp_path / "src"
    photo(src / "imgs" / "r1.png", 1)
    absolute = photo(tmp_path / "elsewhere" / "abs.png", 2)
    photo(tmp_path / "outside.png", 3)
    photo(src / "imgs" / "other.png", 4)
    rows = [
        ("r1", "imgs/r1.png", "louvre", "48.86", "2.33", "Paris", "flickr"),  # relative
        ("abs", str(absolute), "louvre", "", "", "", "web"),  # absolute
        ("gone", "imgs/missing.png", "louvre", "", "", "", ""),  # missing file
        ("r1", "imgs/r1.png", "louvre", "48.86", "2.33", "Paris", "flickr"),  # same id, same bytes
        ("r1", "imgs/other.png", "louvre", "", "", "", ""),  # same id, other bytes
        ("esc", "../outside.png", "louvre", "", "", "", ""),  # leaves the CSV's folder
        ("geo", "imgs/other.png", "louvre", "123", "0", "", ""),  # lat out of range
        ("bad/id", "imgs/other.png", "louvre", "", "", "", ""),  # unsafe id
        ("nolabel", "imgs/other.png", "", "", "", "", ""),
    ]
    csv_path = src / "list.csv"
    pd.DataFrame(rows, columns=["image_id", "path", "landmark", "lat", "lon", "city", "origin"]).to_csv(
        csv_path, index=False
    )
    root = tmp_path / "data"
    summary = import_manifest(csv_path, root, mode="replace", limits=IMPORT_LIMITS)
    check_counts(summary)
    assert (summary.rows_in, summary.imported, summary.skipped_duplicates, summary.quarantined) == (
        9,
        2,
        1,
        6,
    )
    assert summary.by_reason == {
        "file_not_found": 1,
        "duplicate image_id in input": 1,
        "path outside the source folder": 1,
        "bad lat/lon": 1,
        "invalid image_id": 1,
        "empty landmark": 1,
    }
    quarantine = {e.row: e.reason for e in read_quarantine(summary.quarantine_path)}
    assert quarantine[3] == "file_not_found" and quarantine[6] == "path outside the source folder"
    manifest = read_manifest(root / "manifest.csv").set_index("image_id")
    assert manifest.loc["r1", "lat"] == pytest.approx(48.86) and manifest.loc["r1", "city"] == "Paris"
    assert manifest.loc["r1", "origin"] == "flickr"  # extra columns kept
    assert manifest.loc["abs", "sha256"] == sha(absolute)
    assert not (root / "images" / "outside.png").exists()


def test_replace_vs_extend(tmp_path: Path) -> None:
    root = tmp_path / "data"
    photo(tmp_path / "one" / "alpha" / "p.png", 1)
    photo(tmp_path / "one" / "alpha" / "q.png", 2)
    first = import_folder(tmp_path / "one", root, mode="replace", limits=IMPORT_LIMITS)
    old_files = {p.name for p in (root / "images").iterdir()}
    (root / "noise_truth.csv").write_text("image_id,filed_landmark,true_landmark\n")
    photo(tmp_path / "two" / "beta" / "r.png", 3)
    extended = import_folder(tmp_path / "two", root, mode="extend", limits=IMPORT_LIMITS)
    assert (first.manifest_rows, extended.manifest_rows) == (2, 3)
    assert set(read_manifest(root / "manifest.csv")["landmark"]) == {"alpha", "beta"}
    replaced = import_folder(tmp_path / "two", root, mode="replace", limits=IMPORT_LIMITS)
    manifest = read_manifest(root / "manifest.csv")
    assert replaced.manifest_rows == 1 and list(manifest["landmark"]) == ["beta"]
    assert {p.name for p in (root / "images").iterdir()} == {Path(manifest["path"].iloc[0]).name}
    assert not old_files & {p.name for p in (root / "images").iterdir()}
    assert not (root / "noise_truth.csv").exists()
    assert len(list((root / "quarantine").glob("import-*.csv"))) == 3


def test_extend_conflicting_id_is_quarantined(tmp_path: Path) -> None:
    root = tmp_path / "data"
    photo(tmp_path / "a" / "x.png", 1)
    pd.DataFrame([("same", "x.png", "alpha")], columns=["image_id", "path", "landmark"]).to_csv(
        tmp_path / "a" / "m.csv", index=False
    )
    import_manifest(tmp_path / "a" / "m.csv", root, mode="replace", limits=IMPORT_LIMITS)
    photo(tmp_path / "b" / "x.png", 2)  # other bytes under the same id
    pd.DataFrame([("same", "x.png", "alpha")], columns=["image_id", "path", "landmark"]).to_csv(
        tmp_path / "b" / "m.csv", index=False
    )
    summary = import_manifest(tmp_path / "b" / "m.csv", root, mode="extend", limits=IMPORT_LIMITS)
    assert summary.by_reason == {"image_id already in data root with other content": 1}
    assert sha(root / read_manifest(root / "manifest.csv")["path"].iloc[0]) == sha(tmp_path / "a" / "x.png")


def test_replace_with_nothing_usable_leaves_data_root(tmp_path: Path, folder: Path) -> None:
    root = tmp_path / "data"
    import_folder(folder, root, mode="replace", limits=IMPORT_LIMITS)
    before = (root / "manifest.csv").read_bytes()
    (tmp_path / "junk" / "alpha").mkdir(parents=True)
    (tmp_path / "junk" / "alpha" / "a.png").write_bytes(b"<html>nope</html>")
    with pytest.raises(NothingImported) as info:
        import_folder(tmp_path / "junk", root, mode="replace", limits=IMPORT_LIMITS)
    assert info.value.summary.quarantined == 1
    assert (root / "manifest.csv").read_bytes() == before


def test_replace_refuses_project_folder(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    with pytest.raises(DataImportError):
        import_folder(folder, tmp_path, mode="replace", limits=IMPORT_LIMITS)


def test_cli_import_command(tmp_path: Path, folder: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from landmark.cli.data_import import import_command

    app = typer.Typer()
    app.command("import")(import_command)
    app.command("noop")(lambda: None)  # two commands keep `import` a sub-command
    photo(tmp_path / "nl" / "n1.png", 21)
    root = tmp_path / "data"
    runner = CliRunner()
    args = ["import", "--from-folder", str(folder), "--non-landmarks", str(tmp_path / "nl")]
    result = runner.invoke(app, [*args, "--mode", "replace", "--data-root", str(root)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(root / "manifest.csv")
    assert len(manifest) == 6 and (manifest["landmark"] == NON_LANDMARK).sum() == 2
    assert runner.invoke(app, ["import", "--data-root", str(root)]).exit_code != 0  # no source given
    (tmp_path / "junk" / "a").mkdir(parents=True)
    (tmp_path / "junk" / "a" / "x.png").write_bytes(b"nope")
    failed = runner.invoke(
        app,
        ["import", "--from-folder", str(tmp_path / "junk"), "--mode", "replace", "--data-root", str(root)],
    )
    assert failed.exit_code == 1 and len(read_manifest(root / "manifest.csv")) == 6
