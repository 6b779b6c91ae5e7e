"""`landmark recognize`, `landmark albums`, `landmark evaluate`: the recognizer for users.

Typer-compatible functions; the `landmark` app registers them. Heavy imports happen inside.
recognize and albums use the registered champion (models:/landmark-recognizer@champion, fetched into
the project's cache by landmark.registry.champion_model), so `landmark promote` and `landmark model
rollback` change what users get; `--model-uri` picks another version, `--index` (+ `--model`) local files.
Exit codes of recognize and albums: 0 every photo was answered (a landmark or "no landmark");
1 some photos could not be read (each has an error row naming the file and the reason; the others
are answered); 2 bad usage (no champion or registry, no index, no network, a backend that is not
available, a registered file that differs from its digest).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from landmark.retrieval.recognizer import Prediction, Recognizer

console = Console(stderr=True)
PROGRESS_MIN_PHOTOS = 64  # fewer photos: no progress bar
EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2


class Backend(StrEnum):
    """The network runtime (see docs/performance.md)."""

    auto = "auto"
    torch = "torch"
    fp32 = "fp32"
    int8 = "int8"
    ov_fp32 = "ov-fp32"
    ov_bf16 = "ov-bf16"


IndexOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="Use this index folder (e.g. artifacts/index, the last one built) instead of the registered "
        "model; with --model, or the network recorded in the index.",
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="With --index: network weights (model.pt + model.json); "
        "default: the one recorded in the index, else the last training stage.",
    ),
]
ModelUriOpt = Annotated[
    str | None,
    typer.Option(
        "--model-uri",
        help="The registered recognizer to use (default models:/landmark-recognizer@champion, what "
        "`landmark promote` and `landmark model rollback` move); e.g. models:/landmark-recognizer/3.",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    Backend,
    typer.Option(
        help="Network runtime: auto (the fastest of ov-bf16 / int8 whose accuracy check passed, else "
        "ONNX fp32, else torch), torch (eager reference), fp32 / int8 (ONNX Runtime), ov-fp32 / ov-bf16 "
        "(OpenVINO)."
    ),
]


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(EXIT_USAGE)


def _local_model(index: Path, model: Path | None, root: Path) -> Path:
    """The network for a local index folder: --model, else the one recorded in the index."""
    from landmark import layout
    from landmark.params import load_params

    if not (index / "index.json").is_file():
        _fail(f"{index}: no index.json (run the index stage: `dvc repro index`)")
    if model is not None:
        return model
    recorded = Path(json.loads((index / "index.json").read_text()).get("model", ""))
    candidates = [recorded, root / recorded]
    if (root / "params.yaml").is_file():
        candidates.append(root / layout.final_model(len(load_params(root / "params.yaml").train.stages)))
    found = next((c for c in candidates if str(c) and c.is_file()), None)
    if found is None:
        _fail("no network found; pass --model")
    return found  # type: ignore[return-value]  # _fail exits


def _recognizer(index: Path | None, model: Path | None, model_uri: str | None,
                backend: Backend = Backend.auto) -> tuple[Recognizer, str]:
    """The recognizer and what answers (for the table title): the registered `model_uri` (default the
    champion, fetched into the project's cache), or a local index folder when --index is given."""
    from landmark.env import apply_offline_env, repo_root
    from landmark.registry.champion_model import DEFAULT_MODEL_URI, ModelFetchError, fetch_model
    from landmark.registry.integrity import IntegrityError
    from landmark.retrieval.recognizer import Recognizer

    root = repo_root()
    apply_offline_env(root)
    if index is not None and model_uri is not None:
        _fail("pass either --index (local files) or --model-uri (a registered model), not both")
    if index is None and model is not None:
        _fail("--model needs --index (the registered model brings its own network and index)")
    if index is not None:
        model = _local_model(index, model, root)
        source = str(index)
    else:
        try:
            fetched = fetch_model(root, model_uri or DEFAULT_MODEL_URI)
        except (ModelFetchError, IntegrityError) as exc:
            _fail(str(exc))
        index, model, source = fetched.index_dir, fetched.model_path, fetched.describe()
    try:
        return Recognizer.load(index, model, backend=Backend(backend).value), source
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        _fail(f"cannot load the recognizer {source} ({backend.value}): {exc}")
        raise  # unreachable: _fail exits


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for many photos: yields advance(n), or None for few photos."""
    if total < PROGRESS_MIN_PHOTOS:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.update(task, advance=n)


def _recognize_all(
    recognizer: Recognizer, photos: list[Path], location: tuple[float, float] | None
) -> list[Prediction]:
    with _progress(len(photos), "recognising") as advance:
        return recognizer.recognize(photos, [location] * len(photos), errors="report", progress=advance)


def recognize_command(
    photos: Annotated[list[Path], typer.Argument(help="Photo files (JPEG, PNG, ...).")],
    index: IndexOpt = None,
    model: ModelOpt = None,
    model_uri: ModelUriOpt = None,
    backend: BackendOpt = Backend.auto,
    lat: Annotated[
        float | None, typer.Option(help="Where the photos were taken (enables the location filter).")
    ] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude, with --lat.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Name the landmark in each photo, with a confidence, or say "no landmark".

    Uses the registered champion (models:/landmark-recognizer@champion) unless --model-uri names
    another version or --index (+ --model) names local files; the table's title says which model answered.

    A photo that cannot be read (missing, a folder, not an image) gets an error row naming it and
    the reason; the others are still recognised. Exit code 0: all answered; 1: some photos could not
    be read; 2: bad usage (no champion, no index, no network, backend unavailable)."""
    recognizer, source = _recognizer(index, model, model_uri, backend)
    location = (lat, lon) if lat is not None and lon is not None else None
    preds = _recognize_all(recognizer, photos, location)
    failed = sum(p.error is not None for p in preds)
    if as_json:
        rows = [{"photo": str(p), **pred.to_dict()} for p, pred in zip(photos, preds, strict=True)]
        typer.echo(json.dumps(rows, indent=2))
        console.print(f"answered by {source}, backend: {recognizer.backend}")
    else:
        table = Table(title=f"{source}, backend: {recognizer.backend}")
        table.add_column("photo", overflow="fold")
        table.add_column("landmark", overflow="fold")
        for name in ("confidence", "similarity", "city"):
            table.add_column(name)
        for path, pred in zip(photos, preds, strict=True):
            if pred.error is not None:
                reason = pred.error.removeprefix(f"{path}: ")  # the file is in the first column
                table.add_row(str(path), f"[red]error:[/red] {escape(reason)}", "", "", "")
                continue
            name = pred.landmark or "[dim]no landmark[/dim]"
            table.add_row(str(path), name, f"{pred.confidence:.3f}", f"{pred.similarity:.3f}", pred.city or "")
        Console(width=max(120, Console().width)).print(table)
    if failed:
        console.print(f"[yellow]{failed} of {len(photos)} photos could not be read[/yellow]")
        raise typer.Exit(EXIT_UNREADABLE)


def albums_command(
    folder: Annotated[
        Path, typer.Argument(help="A folder of photos (searched recursively).", exists=True, file_okay=False)
    ],
    out: Annotated[Path, typer.Option(help="Where albums.json and albums.html go.")] = Path("albums"),
    index: IndexOpt = None,
    model: ModelOpt = None,
    model_uri: ModelUriOpt = None,
    backend: BackendOpt = Backend.auto,
    batch_size: Annotated[int, typer.Option(min=1, help="Photos per CNN batch.")] = 32,
) -> None:
    """Group a folder of photos into albums per landmark and per city (JSON + a static HTML page).

    Uses the registered champion unless --model-uri or --index (+ --model) says otherwise.

    Unreadable photos are listed with their reason under "errors" (exit code 1); the others are
    grouped. Exit code 0: all answered; 2: bad usage."""
    from landmark.evaluation.albums import city_places, find_photos, group_albums
    from landmark.evaluation.albums_page import write_albums_page

    recognizer, source = _recognizer(index, model, model_uri, backend)
    recognizer.batch_size = batch_size
    paths = find_photos(folder)
    if not paths:
        _fail(f"no photos under {folder}")
    preds = _recognize_all(recognizer, paths, None)
    albums = group_albums(paths, preds, folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "albums.json").write_text(json.dumps(albums, indent=2))
    page = write_albums_page(albums, folder, out, city_places(recognizer.landmarks))
    counts = albums["counts"]
    console.print(f"{source} (backend {recognizer.backend}): "
                  f"{counts['photos']} photos: {counts['recognised']} in {counts['albums']} landmark albums, "
                  f"{counts['no_landmark']} without a landmark -> {out / 'albums.json'}, {page}")
    if albums["errors"]:
        console.print(f"[yellow]{len(albums['errors'])} photos could not be read (see errors)[/yellow]")
        raise typer.Exit(EXIT_UNREADABLE)


def evaluate_command(
    model: Annotated[
        str,
        typer.Option(
            help="model.pt path, an MLflow model URI (models:/landmark-recognizer@champion)"
            ", or 'frozen' for the ImageNet backbone."
        ),
    ],
    database: Annotated[
        Path,
        typer.Option(help="Manifest whose landmark photos define the known landmarks.", exists=True, dir_okay=False),
    ],
    queries: Annotated[
        Path,
        typer.Option(
            help="Manifest of query photos; labels not in the database (or __non_landmark__) must be rejected.",
            exists=True,
            dir_okay=False,
        ),
    ],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON here.")] = None,
    frozen_baseline: Annotated[bool, typer.Option(help="Also evaluate the frozen ImageNet backbone.")] = False,
) -> None:
    """Evaluate a network ad hoc: GAP, sensitivity at FPR 1% / 0.1%, accuracy@1, FPR at the threshold,
    for the network with several centroids per landmark and the one-centroid / nearest-photo baselines."""
    import torch

    from landmark.env import apply_offline_env, compute_threads, repo_root
    from landmark.evaluation.adhoc import evaluate_adhoc
    from landmark.evaluation.run import flat_metrics, metrics_table
    from landmark.params import load_params

    logging.basicConfig(level=logging.WARNING)
    root = repo_root()
    apply_offline_env(root)
    torch.set_num_threads(compute_threads())
    evaluations = evaluate_adhoc(model, database, queries, load_params(root / "params.yaml"), frozen_baseline)
    Console().print(metrics_table(evaluations))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(flat_metrics(evaluations), indent=2, sort_keys=True))
        console.print(f"metrics -> {json_out}")
