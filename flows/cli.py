"""The `landmark` command (the console script): the product's commands from `landmark.cli.main` plus
the two that drive the Prefect flows, `retrain` and `schedule`. It lives here because flows import the
product and never the reverse; prefect and the flows are imported inside the commands, so the rest of
the CLI starts fast and runs in the serving install.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from landmark.cli.main import app, fail, project_root


def retrain(
    force: Annotated[bool, typer.Option(help="Rerun every stage even when nothing changed.")] = False,
    register: Annotated[bool, typer.Option(help="Register and gate the models after evaluation.")] = True,
) -> None:
    """Run the retrain flow (Prefect): the DVC stages, then MLflow registration and the promotion gate."""
    from flows.preflight import PreflightError, check_mlflow, check_prefect, check_project
    from landmark.project_lock import ProjectBusy, project_lock
    from landmark.registry.tracking import tracking_uri

    root = project_root()
    try:
        with project_lock(root, "landmark retrain"):  # before the checks: a second retrain refuses at once
            check_project(root)
            check_mlflow(tracking_uri(root))
            check_prefect()
            from flows.retrain import retrain as retrain_flow

            summary = retrain_flow(project_dir=str(root), force=force, register_models=register)
    except (PreflightError, ProjectBusy) as exc:
        fail(str(exc))
    from landmark.cli.summary import print_summary

    print_summary(summary, root)


def schedule(
    cron: Annotated[str, typer.Option(help="Cron expression of the scheduled retrain.")] = "0 3 * * 1",
    work_pool: Annotated[str, typer.Option(help="Put the deployment in this work pool of the Prefect server "
                                           "(e.g. `landmark`, started by `landmark services up`) and return, "
                                           "instead of serving it from this process.")] = "",
) -> None:
    """Serve the retrain flow on a cron schedule (needs `prefect server start`; see README), or with
    --work-pool deploy it to a work pool whose worker runs it."""
    root = project_root()
    if work_pool:
        from flows.preflight import PreflightError, check_prefect
        from flows.schedule import DEPLOYMENT_NAME, deploy_to_pool

        if not os.environ.get("PREFECT_API_URL"):
            fail("--work-pool needs a Prefect server: set PREFECT_API_URL (`eval \"$(landmark services env)\"`)")
        try:
            check_prefect()
        except PreflightError as exc:
            fail(str(exc))
        deployment_id = deploy_to_pool(work_pool, cron=cron, project_dir=str(root))
        print(f"deployment retrain/{DEPLOYMENT_NAME} ({deployment_id}) in work pool {work_pool!r}, cron {cron!r}")
        return
    from flows.schedule import serve_schedule

    serve_schedule(cron=cron, project_dir=str(root))


app.command("retrain")(retrain)
app.command("schedule")(schedule)
