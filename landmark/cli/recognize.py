"""`landmark recognize`, `landmark albums`, `landmark evaluate`: the recognizer for users.

Typer-compatible functions; the `landmark` app registers them. Heavy imports happen inside.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
IndexOpt = Annotated[Path, typer.Option("--index", help="Index folder written by the index stage.")]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Network weights (model.pt + model.json); "
        "default: the one recorded in the index, else the last training stage.",
    ),
]


def _recognizer(index: Path, model: Path | None):  # type: ignore[no-untyped-def]
    import torch

    from landmark.env import apply_offline_env, repo_root
    from landmark.params import load_params
    from landmark.retrieval.recognizer import Recognizer
    from landmark.stages.index import final_model

    root = repo_root()
    apply_offline_env(root)
    torch.set_num_threads(2)
    if not (index / "index.json").is_file():
        console.print(f"[red]error:[/red] {index}: no index.json (run the index stage: `dvc repro index`)")
        raise typer.Exit(2)
    if model is None:
        recorded = Path(json.loads((index / "index.json").read_text()).get("model", ""))
        candidates = [recorded, root / recorded]
        if (root / "params.yaml").is_file():
            candidates.append(root / final_model(load_params(root / "params.yaml")))
        model = next((c for c in candidates if str(c) and c.is_file()), None)
        if model is None:
            console.print("[red]error:[/red] no network found; pass --model")
            raise typer.Exit(2)
    return Recognizer.load(index, model)


def recognize_command(
    photos: Annotated[
        list[Path], typer.Argument(help="Photo files (JPEG, PNG, ...).", exists=True, dir_okay=False)
    ],
    index: IndexOpt = Path("artifacts/index"),
    model: ModelOpt = None,
    lat: Annotated[
        float | None, typer.Option(help="Where the photos were taken (enables the location filter).")
    ] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude, with --lat.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Name the landmark in each photo, with a confidence, or say "no landmark"."""
    recognizer = _recognizer(index, model)
    location = (lat, lon) if lat is not None and lon is not None else None
    preds = recognizer.recognize(photos, [location] * len(photos))
    if as_json:
        print(
            json.dumps(
                [{"photo": str(p), **pred.to_dict()} for p, pred in zip(photos, preds, strict=True)], indent=2
            )
        )
        return
    table = Table("photo", "landmark", "confidence", "similarity", "city")
    for path, pred in zip(photos, preds, strict=True):
        name = pred.landmark or "[dim]no landmark[/dim]"
        table.add_row(str(path), name, f"{pred.confidence:.3f}", f"{pred.similarity:.3f}", pred.city or "")
    Console().print(table)


def albums_command(
    folder: Annotated[
        Path, typer.Argument(help="A folder of photos (searched recursively).", exists=True, file_okay=False)
    ],
    out: Annotated[Path, typer.Option(help="Where albums.json and albums.html go.")] = Path("albums"),
    index: IndexOpt = Path("artifacts/index"),
    model: ModelOpt = None,
    batch_size: Annotated[int, typer.Option(help="Photos per CNN batch.")] = 32,
) -> None:
    """Group a folder of photos into albums per landmark and per city (JSON + a static HTML page)."""
    from landmark.evaluation.albums import albums_html, find_photos, group_albums

    recognizer = _recognizer(index, model)
    paths = find_photos(folder)
    if not paths:
        console.print(f"[red]error:[/red] no photos under {folder}")
        raise typer.Exit(2)
    preds = []
    for start in range(0, len(paths), batch_size):
        preds.extend(recognizer.recognize(paths[start : start + batch_size]))
    albums = group_albums(paths, preds, folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "albums.json").write_text(json.dumps(albums, indent=2))
    (out / "albums.html").write_text(albums_html(albums, folder))
    console.print(f"{albums['counts']} -> {out / 'albums.json'}, {out / 'albums.html'}")


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
        typer.Option(
            help="Manifest whose landmark photos define the known landmarks.", exists=True, dir_okay=False
        ),
    ],
    queries: Annotated[
        Path,
        typer.Option(
            help="Manifest of query photos; labels not in the database (or "
            "__non_landmark__) must be rejected.",
            exists=True,
            dir_okay=False,
        ),
    ],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON here.")] = None,
    frozen_baseline: Annotated[
        bool, typer.Option(help="Also evaluate the frozen ImageNet backbone.")
    ] = False,
) -> None:
    """Evaluate a network ad hoc: GAP, sensitivity at FPR 1% / 0.1%, accuracy@1, FPR at the threshold,
    for the network with several centroids per landmark and the one-centroid / nearest-photo baselines."""
    import torch

    from landmark.env import apply_offline_env, repo_root
    from landmark.evaluation.adhoc import evaluate_adhoc
    from landmark.evaluation.run import flat_metrics, metrics_table
    from landmark.params import load_params

    logging.basicConfig(level=logging.WARNING)
    root = repo_root()
    apply_offline_env(root)
    torch.set_num_threads(2)
    evaluations = evaluate_adhoc(model, database, queries, load_params(root / "params.yaml"), frozen_baseline)
    Console().print(metrics_table(evaluations))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(flat_metrics(evaluations), indent=2, sort_keys=True))
        console.print(f"metrics -> {json_out}")
