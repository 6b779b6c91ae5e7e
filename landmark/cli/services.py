"""`landmark services up|status|down|env`: the team stack (PostgreSQL, object store, MLflow server,
Prefect server and worker) on this machine; see landmark/services/stack.py and docs/scale.md."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

services_app = typer.Typer(help="Team services on this machine: PostgreSQL, an S3 object store, the MLflow "
                           "and Prefect servers and a Prefect worker.", no_args_is_help=True)
console = Console(stderr=True)


def _folder():  # type: ignore[no-untyped-def]
    from landmark.cli.main import project_root
    from landmark.services.stack import services_dir

    root = project_root()
    return root, services_dir(root)


def _print_exports(env: dict[str, str]) -> None:
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")


@services_app.command("up")
def services_up(
    worker: Annotated[bool, typer.Option(help="Also start the Prefect worker of the `landmark` work pool.")] = True,
) -> None:
    """Start the stack (what already runs is kept) and print the variables that point the CLI at it:
    `eval "$(landmark services up)"`."""
    from landmark.cli.main import fail
    from landmark.services.process import ServiceError
    from landmark.services.stack import client_env, credentials, up

    root, folder = _folder()
    console.print(f"starting the team services in {folder} (logs: {folder / 'logs'}) ...")
    try:
        state = up(folder, root, worker=worker)
    except ServiceError as exc:
        fail(f"{exc}\n(what started before keeps running: `landmark services down` stops it)")
    for record in state.values():
        console.print(f"  {record.name:<13} pid {record.pid:<8} {record.url}")
    console.print("point the CLI at them (or `eval \"$(landmark services env)\"`):")
    _print_exports(client_env(state, credentials(folder)))


@services_app.command("env")
def services_env() -> None:
    """Print the `export` lines for the running stack."""
    from landmark.services.stack import client_env, credentials, read_state

    _, folder = _folder()
    _print_exports(client_env(read_state(folder), credentials(folder)))


@services_app.command("status")
def services_status() -> None:
    """Each service: running, health check, address, log. Exit 1 when one is down."""
    from landmark.services.stack import status

    _, folder = _folder()
    rows = status(folder)
    if not rows:
        console.print(f"no services recorded in {folder}: `landmark services up` starts them")
        raise typer.Exit(1)
    table = Table("service", "pid", "state", "address", "log")
    for row in rows:
        state = "up" if row.healthy else ("running, not answering" if row.running else "down")
        table.add_row(row.name, str(row.pid), state, row.url, row.log)
    Console(width=max(160, Console().width)).print(table)
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@services_app.command("down")
def services_down() -> None:
    """Stop every service (SIGTERM, SIGKILL after a timeout); data and logs stay for the next `up`."""
    from landmark.services.stack import down

    _, folder = _folder()
    stopped = down(folder)
    if not stopped:
        console.print("nothing was running")
    for name, killed in stopped:
        console.print(f"  {name}: {'killed (did not stop in time)' if killed else 'stopped'}")
