"""`python -m samples`: draw the sample world (params.yaml section `sample`) and make it a data version."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
console = Console(stderr=True)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Data root to draw into (relative to the project root).")] = Path("data"),
    params_file: Annotated[Path, typer.Option("--params", help="params.yaml whose `sample` section to use.")] = Path(
        "params.yaml"
    ),
    overwrite: Annotated[bool, typer.Option(help="Replace photos already in OUT (only the files drawn here).")] = False,
    commit: Annotated[bool, typer.Option(help="Track data/ with DVC, commit data.dvc as a new data version.")] = True,
) -> None:
    """Draw the sample world (params `sample`: seed, landmarks, photos, noise) into OUT; when OUT is
    the project's data/, track it with DVC and commit it as a data version (`landmark data versions`)."""
    from landmark.data.versions import commit_data_version
    from landmark.env import apply_offline_env, repo_root
    from landmark.params import load_params
    from landmark.project_lock import ProjectBusy, project_lock
    from samples.world import generate_sample_world

    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    root = repo_root()
    apply_offline_env(root)
    params = load_params(root / params_file).sample
    target = root / out
    tracked = target.resolve() == (root / "data").resolve()  # only data/ is DVC-tracked
    try:  # never rewrite data/ under a running retrain or rollback
        with project_lock(root, "python -m samples") if tracked else contextlib.nullcontext():
            summary = generate_sample_world(target, params, progress=True, overwrite=overwrite)
            console.print(f"sample world: {summary}")
            if commit and tracked:
                version = commit_data_version(root, f"sample world (seed {params.seed})", source="sample")
                console.print(f"data version {version.commit[:10]}: {version.meta}")
    except FileExistsError as exc:
        console.print(f"[red]error:[/red] {target / 'images'} is not empty: pass --overwrite to draw it again")
        raise typer.Exit(2) from exc
    except ProjectBusy as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    app()
