"""`landmark data import`: copy photos into the data root from folders, manifests or a GLDv2 CSV.

Only calls the library (landmark.data.importers / gldv2) and prints a rich summary; the caller
(the `landmark data` app) versions the data root with DVC afterwards.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from landmark.data.download import DownloadSettings
from landmark.data.gldv2 import DownloadInterrupted, import_gldv2
from landmark.data.import_store import DataImportError, NothingImported
from landmark.data.importers import add_non_landmarks, import_folder, import_manifest
from landmark.data.manifest import ManifestError
from landmark.data.photo_check import PhotoLimits
from landmark.data.quarantine import ImportSummary
from landmark.layout import DATA
from landmark.params import ParamsError, load_params


class ImportMode(enum.StrEnum):
    REPLACE = "replace"
    EXTEND = "extend"


def summary_table(summaries: list[ImportSummary]) -> Table:
    """One row per import step: rows in, imported, duplicates, quarantined (with reasons), manifest size."""
    table = Table(title="data import")
    for column in (
        "source",
        "mode",
        "rows in",
        "imported",
        "duplicates",
        "quarantined",
        "reasons",
        "manifest rows",
    ):
        table.add_column(column, justify="right" if column not in ("source", "mode", "reasons") else "left")
    for s in summaries:
        reasons = "\n".join(f"{k}: {v}" for k, v in sorted(s.by_reason.items())) or "-"
        table.add_row(
            s.source,
            s.mode,
            str(s.rows_in),
            str(s.imported),
            str(s.skipped_duplicates),
            str(s.quarantined),
            reasons,
            str(s.manifest_rows),
        )
    return table


def import_command(
    from_folder: Annotated[
        Path | None,
        typer.Option(
            "--from-folder",
            help="Folder with one sub-folder per landmark (<src>/<landmark>/*.jpg); a sub-folder "
            "named non_landmark holds photos without a landmark.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    from_manifest: Annotated[
        Path | None,
        typer.Option(
            "--from-manifest",
            help="Manifest CSV (image_id,path,landmark[,lat,lon,city]); paths absolute or "
            "relative to the CSV.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    from_gldv2: Annotated[
        Path | None,
        typer.Option(
            "--from-gldv2",
            help="Google Landmarks v2 style CSV (id,url,landmark_id): photos are downloaded "
            "(parallel, resumable: rerun after an interruption to continue).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    non_landmarks: Annotated[
        Path | None,
        typer.Option(
            "--non-landmarks",
            help="Folder of non-landmark photos to add (any depth); always added in extend "
            "mode after the other sources.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    as_non_landmarks: Annotated[
        bool,
        typer.Option(
            "--as-non-landmarks", help="Label every photo of --from-folder as a non-landmark photo."
        ),
    ] = False,
    mode: Annotated[
        ImportMode,
        typer.Option(
            "--mode",
            help="replace: the data root holds exactly the imported set; extend: add to what is "
            "there (same id + same bytes is skipped, same id + other bytes is quarantined).",
        ),
    ] = ImportMode.EXTEND,
    data_root: Annotated[
        Path, typer.Option("--data-root", help="Where photos and manifest.csv live.")
    ] = DATA,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel downloads (--from-gldv2).")] = 8,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            min=0,
            help="Retries per photo on connection errors, timeouts and 5xx (never on 404), "
            "with exponential backoff.",
        ),
    ] = 3,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.01, help="Seconds per HTTP connect/read.")
    ] = 10.0,
    max_file_mb: Annotated[
        float | None,
        typer.Option(
            "--max-file-mb", min=0.001, help="Largest photo accepted [default: validate.max_file_bytes of --params]."
        ),
    ] = None,
    params_path: Annotated[
        Path, typer.Option("--params", help="The project's params.yaml: the photo limits of its `validate` section.")
    ] = Path("params.yaml"),
    keep_downloads: Annotated[
        bool,
        typer.Option(
            "--keep-downloads", help="Keep the cached downloads in <data-root>/.downloads after the import."
        ),
    ] = False,
) -> list[ImportSummary]:
    """Import photos into the data root and write its manifest (with a sha256 per photo).

    Sources run in the order manifest, folder, GLDv2, non-landmarks; the first uses --mode,
    the rest extend it.

    Every input row is imported, skipped as a duplicate, or quarantined with its reason in
    <data-root>/quarantine/import-<timestamp>.csv.
    """
    console = Console()
    try:
        validate = load_params(params_path).validate
    except ParamsError as exc:
        console.print(f"[red]import failed:[/red] {exc} (run from the project root or pass --params)")
        raise typer.Exit(2) from exc
    limits = PhotoLimits.for_import(validate, None if max_file_mb is None else int(max_file_mb * 1024 * 1024))
    steps = []
    if from_manifest:
        steps.append(lambda m: import_manifest(from_manifest, data_root, m, limits=limits))
    if from_folder:
        steps.append(lambda m: import_folder(from_folder, data_root, m, as_non_landmarks, limits=limits))
    if from_gldv2:
        settings = DownloadSettings(limits=limits, workers=workers, retries=retries, timeout=timeout)
        steps.append(
            lambda m: import_gldv2(from_gldv2, data_root, m, settings=settings, keep_downloads=keep_downloads)
        )
    if non_landmarks:
        steps.append(lambda m: add_non_landmarks(non_landmarks, data_root, "extend", limits=limits))
    if not steps:
        raise typer.BadParameter(
            "give at least one of --from-folder, --from-manifest, --from-gldv2, --non-landmarks"
        )
    summaries: list[ImportSummary] = []
    try:
        for i, step in enumerate(steps):
            summaries.append(step(mode.value if i == 0 else "extend"))
    except NothingImported as exc:
        summaries.append(exc.summary)
        console.print(summary_table(summaries))
        console.print(f"[red]{exc}[/red] (reasons in {exc.summary.quarantine_path})")
        raise typer.Exit(1) from exc
    except DownloadInterrupted as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        raise typer.Exit(130) from exc
    except KeyboardInterrupt as exc:
        console.print(
            "[yellow]interrupted: finished downloads are kept; rerun the same command to resume[/yellow]"
        )
        raise typer.Exit(130) from exc
    except (ManifestError, DataImportError) as exc:
        console.print(f"[red]import failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(summary_table(summaries))
    return summaries
