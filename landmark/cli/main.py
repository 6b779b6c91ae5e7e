"""The product's commands of the `landmark` command line (data, registry, recognizer). The two that drive
the Prefect flows (retrain, schedule) are added by `flows.cli`, the console script's entry point, so this
library never imports the orchestration. Heavy libraries are imported inside commands so --help is instant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from landmark.env import apply_offline_env, repo_root

app = typer.Typer(help="Landmark recognition via deep metric learning (Boiarov & Tyantov, arXiv 1908.10192): "
                  "data versions, the retrain pipeline, the model registry and the recognizer.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
data_app = typer.Typer(help="The landmark database: import, list versions, roll back.",
                       no_args_is_help=True)
model_app = typer.Typer(help="Registered models: list versions, roll the champion back.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
console = Console(stderr=True)


def project_root() -> Path:
    """The project root (nearest params.yaml above the cwd), with the offline environment applied."""
    root = repo_root()
    apply_offline_env(root)
    return root


def fail(message: str) -> None:
    """Print an error and exit with code 2 (bad usage or a refused operation)."""
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@data_app.command("sample")
def data_sample() -> None:
    """Moved: the sample world is drawn by `python -m samples` (outside the product library)."""
    fail("the sample world moved out of the product: run `python -m samples` from the project root "
          "(draws params `sample` into data/ and commits it as a data version; --help for options)")


@data_app.command("versions")
def data_versions(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List data versions: the git history of data.dvc with photo and landmark counts."""
    from landmark.data.versions import list_versions

    versions = list_versions(project_root())
    if as_json:
        print(json.dumps([v.__dict__ for v in versions], indent=2))
        return
    table = Table("commit", "date", "photos", "landmarks", "non-landmark", "files", "source", "message")
    for v in versions:
        table.add_row(v.commit[:10], v.date[:19], str(v.meta.get("photos", "?")), str(v.meta.get("landmarks", "?")),
                      str(v.meta.get("non_landmark", "?")), str(v.nfiles), str(v.meta.get("source", "")), v.message)
    Console().print(table)


@data_app.command("rollback")
def data_rollback(rev: Annotated[str, typer.Argument(help="A git revision from `landmark data versions`.")]) -> None:
    """Put data.dvc back to REV, check the files out, verify them and commit; the next retrain uses it."""
    from landmark.data.versions import rollback_data
    from landmark.project_lock import ProjectBusy
    from landmark.vcs import CommandError

    try:
        version = rollback_data(project_root(), rev)
    except (CommandError, ProjectBusy) as exc:
        fail(str(exc))
    console.print(f"data rolled back: now {version.commit[:10]} ({version.meta}); files verified")


@data_app.command("contact-sheet")
def data_contact_sheet(
    out: Annotated[Path, typer.Option(help="PNG to write.")] = Path("artifacts/contact_sheet.png"),
) -> None:
    """Render a contact sheet of the data (a few photos per landmark) to look at."""
    from landmark.data.contact_sheet import render_contact_sheet

    root = project_root()
    render_contact_sheet(root / "data" / "manifest.csv", root / "data", root / out)
    console.print(f"wrote {out}")


@app.command("setup")
def setup(
    remote: Annotated[str, typer.Option(help="Folder or s3:// URL of the DVC remote (default: LANDMARK_DVC_REMOTE, "
                                        "else <repo>/.dvc-remote).")] = "",
) -> None:
    """Prepare a fresh clone: DVC and its remote, and the MLflow store. Data comes separately."""
    from landmark.data.versions import ensure_dvc
    from landmark.registry.tracking import ensure_experiment

    root = project_root()
    ensure_dvc(root, remote or None)
    ensure_experiment(root)
    if (root / "data" / "manifest.csv").is_file():
        console.print("data/ is present: kept")
        console.print("setup done: next `landmark retrain`")
        return
    console.print("setup done; data/ is empty. Get data, then run `landmark retrain`:\n"
                  "  landmark data import --from-folder PHOTOS/   your photos, one sub-folder per landmark\n"
                  "  python -m samples                            the generated sample world (params `sample`)")


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version of landmark-recognizer to make champion.")],
    reason: Annotated[str, typer.Option(help="Why, recorded on the version.")] = "manual promotion",
) -> None:
    """Force VERSION to champion by hand (recorded as forced), bypassing the gate."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from landmark.registry.promotion import force_promote
    from landmark.registry.register import RECOGNIZER
    from landmark.registry.tracking import ensure_experiment

    ensure_experiment(project_root())
    try:
        force_promote(MlflowClient(), RECOGNIZER, version, reason)
    except MlflowException as exc:
        fail(f"{RECOGNIZER} version {version}: {exc.message}")
    console.print(f"{RECOGNIZER} v{version} is champion (forced: {reason})")


@model_app.command("rollback")
def model_rollback() -> None:
    """Move the `champion` alias back to the previous champion."""
    from mlflow import MlflowClient

    from landmark.registry.promotion import rollback_champion
    from landmark.registry.register import RECOGNIZER
    from landmark.registry.tracking import ensure_experiment

    ensure_experiment(project_root())
    try:
        version = rollback_champion(MlflowClient(), RECOGNIZER)
    except LookupError as exc:
        fail(str(exc))
    console.print(f"{RECOGNIZER}: champion is now v{version}")


@model_app.command("list")
def model_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per version).")] = False,
               ) -> None:
    """Versions of the registered models: aliases (champion, challenger, previous_champion), when each
    was registered, the gate's decision and its reason, GAP (with its interval when the gate recorded
    one) and FPR at the threshold."""
    from mlflow import MlflowClient

    from landmark.registry.listing import list_versions
    from landmark.registry.tracking import ensure_experiment

    ensure_experiment(project_root())
    rows = list_versions(MlflowClient())
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        console.print("no registered model yet: `landmark retrain` registers one")
        return
    out = Console(width=max(120, Console().width))
    for model in dict.fromkeys(r.model for r in rows):  # one table per registered model, in order
        table = Table(title=model, title_justify="left", title_style="bold")
        for column in ("ver", "aliases", "registered (UTC)", "gate", "GAP", "FPR", "data"):
            table.add_column(column, no_wrap=column in ("ver", "gate", "FPR", "data"))
        table.add_column("gate reason", overflow="fold", ratio=1)
        for r in (r for r in rows if r.model == model):
            gap = "" if r.gap is None else f"{r.gap:.4f}"
            if r.gap_interval is not None:
                band = f"[{r.gap_interval.low:.3f}, {r.gap_interval.high:.3f}]"
                gap += f" {band}" if r.gap_interval.of == "gap" else f" (diff {band})"
            aliases = ", ".join(f"[bold green]{a}[/bold green]" if a == "champion" else a for a in r.aliases)
            table.add_row(r.version, aliases, r.created.replace("T", " ")[:16], r.gate_status, gap,
                          "" if r.fpr_at_threshold is None else f"{r.fpr_at_threshold:.4f}", r.data_md5[:8],
                          rich_escape(r.gate_reason.replace("; ", "\n")))
        out.print(table)


@app.command("ui")
def ui() -> None:
    """Print the commands that open the MLflow and Prefect UIs on 127.0.0.1."""
    from landmark.cli.summary import ui_commands

    for line in ui_commands(project_root()):
        print(line)


def _register_sibling_commands() -> None:
    """Commands whose modules live beside this one (ingestion with data versioning, recognition)."""
    import functools

    from landmark.cli.data_import import import_command

    @functools.wraps(import_command)
    def import_and_version(*args, **kwargs):  # type: ignore[no-untyped-def]
        from landmark.project_lock import ProjectBusy, project_lock

        target = Path(kwargs.get("data_root") or "data").resolve()
        if target != (project_root() / "data").resolve():  # an untracked folder: no version, no lock
            return import_command(*args, **kwargs)
        try:
            with project_lock(project_root(), "landmark data import"):  # never under a running retrain
                summaries = import_command(*args, **kwargs)
                if summaries:  # only the tracked data root is versioned
                    from landmark.data.versions import commit_data_version

                    sources = ", ".join(sorted({s.source for s in summaries}))
                    imported = sum(s.imported for s in summaries)
                    version = commit_data_version(project_root(), f"import {imported} photos ({sources})",
                                                  source="import")
                    console.print(f"data version {version.commit[:10]}: {version.meta}")
        except ProjectBusy as exc:
            fail(str(exc))
        return summaries

    import_and_version.__doc__ = (import_command.__doc__ or "") + (
        "\n\nThe result becomes a new data version (data.dvc updated and committed).")
    data_app.command("import")(import_and_version)
    from landmark.cli.recognize import albums_command, evaluate_command, recognize_command
    from landmark.cli.serve import serve_command
    from landmark.cli.services import services_app

    app.command("recognize")(recognize_command)
    app.command("albums")(albums_command)
    app.command("evaluate")(evaluate_command)
    app.command("serve")(serve_command)
    app.add_typer(services_app, name="services")


_register_sibling_commands()
