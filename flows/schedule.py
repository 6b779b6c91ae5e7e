"""Scheduled retraining: the retrain flow as a Prefect deployment with a cron schedule.

Start a server and serve the schedule on this machine:
    prefect server start --host 127.0.0.1 --port 4200            # terminal 1
    PREFECT_API_URL=http://127.0.0.1:4200/api landmark schedule  # terminal 2 (Ctrl-C stops it)
    PREFECT_API_URL=http://127.0.0.1:4200/api prefect deployment run 'retrain/scheduled-retrain'

With the team services (`landmark services up`: a Prefect server and a worker of the `landmark` work
pool), `landmark schedule --work-pool landmark` puts the deployment in that pool instead and returns;
the worker runs each scheduled (or triggered) retrain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.retrain import retrain

DEPLOYMENT_NAME = "scheduled-retrain"
DEFAULT_CRON = "0 3 * * 1"  # Mondays 03:00


def retrain_deployment(cron: str = DEFAULT_CRON, project_dir: str = "", **parameters: Any):  # type: ignore[no-untyped-def]
    """The deployment object (no server needed to build it)."""
    return retrain.to_deployment(name=DEPLOYMENT_NAME, cron=cron,
                                 parameters={"project_dir": project_dir, **parameters},
                                 description="Weekly retrain of the landmark recognizer on the current data version.",
                                 tags=["landmark", "retrain"])


def serve_schedule(cron: str = DEFAULT_CRON, project_dir: str = "") -> None:
    """Serve the scheduled deployment until interrupted (needs PREFECT_API_URL to a running server)."""
    from prefect import serve

    serve(retrain_deployment(cron=cron, project_dir=project_dir))


def deploy_to_pool(pool: str, cron: str = DEFAULT_CRON, project_dir: str = "", **parameters: Any) -> UUID:
    """Create (or update) the scheduled deployment in work pool `pool` on the server of PREFECT_API_URL;
    a worker of that pool runs its flow runs in `project_dir` (the flow is imported by module path, so
    the worker's Python must have this project installed). Returns the deployment id."""
    project = str(Path(project_dir).resolve()) if project_dir else ""
    deployment = cast(RunnerDeployment, retrain.to_deployment(name=DEPLOYMENT_NAME, cron=cron,
                                       parameters={"project_dir": project, **parameters},
                                       description="Weekly retrain of the landmark recognizer on the current data "
                                                   "version.",
                                       tags=["landmark", "retrain"], entrypoint_type=EntrypointType.MODULE_PATH,
                                       job_variables={"working_dir": project} if project else {}))
    return cast(UUID, deployment.apply(work_pool_name=pool))  # sync context: the UUID itself
