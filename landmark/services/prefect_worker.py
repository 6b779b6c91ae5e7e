"""A Prefect worker of a `process` work pool: it runs the flow runs of the deployments in that pool
(the scheduled retrain, `landmark schedule --work-pool`) as subprocesses on this machine, with the
environment that points them at the team services.

`python -m landmark.services.prefect_worker ARGS` is `prefect ARGS` with SIGINT handled as in a
foreground start: a shell starts background jobs (`nohup ... &`, CI scripts) with SIGINT ignored, and
children inherit that across exec. Prefect's worker stops on SIGTERM by sending itself SIGINT; with
SIGINT ignored that signal is lost and the worker polls on until it is killed."""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path

from landmark.services.process import alive, spawn, start_or_stop, stop
from landmark.services.record import ServiceRecord

NAME = "worker"
WORK_POOL = "landmark"


def pool_has_worker(api_url: str, pool: str) -> bool:
    """The server lists a worker of `pool` (the worker created the pool and sent a heartbeat)."""
    try:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            return bool(client.read_workers_for_work_pool(pool))
    except Exception:  # noqa: BLE001 - no prefect here, the pool does not exist yet or the server is away
        return False


def healthy(record: ServiceRecord, api_url: str) -> bool:
    return alive(record.pid) and pool_has_worker(api_url, record.extra["pool"])


def start(services_dir: Path, api_url: str, env: dict[str, str], cwd: Path, pool: str = WORK_POOL) -> ServiceRecord:
    """`prefect worker start --pool POOL --type process` (creates the pool when missing); its flow
    runs start in `cwd` with `env` (the clients' variables)."""
    log = services_dir / "logs" / "worker.log"
    home = services_dir / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    worker_env = {**os.environ, **env, "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url}
    args = [sys.executable, "-m", "landmark.services.prefect_worker", "worker", "start", "--pool", pool,
            "--type", "process", "--name", f"landmark-{os.uname().nodename}"]
    pid = spawn(args, log, env=worker_env, cwd=cwd)
    record = ServiceRecord(NAME, pid, api_url, str(log), {}, {"pool": pool, "cwd": str(cwd)})
    start_or_stop(pid, lambda: healthy(record, api_url), f"Prefect worker of pool {pool!r}", log, timeout_s=120)
    return record


def shutdown(record: ServiceRecord) -> bool:
    # SIGTERM: the worker stops polling, waits for its running flow runs and exits ("Worker ... stopped!")
    return stop(record.pid, timeout_s=60)


def main(argv: list[str]) -> None:
    """`prefect ARGV` (the real Prefect CLI, as `python -m prefect`) with Python's own SIGINT handler, even
    when this process was started with SIGINT ignored (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["prefect", *argv]
    runpy.run_module("prefect", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
