"""The Prefect server (API, UI, scheduler) with its database in PostgreSQL (asyncpg)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from landmark.services import postgres
from landmark.services.process import http_ok, spawn, start_or_stop, stop
from landmark.services.record import Credentials, ServiceRecord

NAME = "prefect"


def healthy(record: ServiceRecord) -> bool:
    return http_ok(record.url + "/health")


def start(services_dir: Path, creds: Credentials, db: ServiceRecord, port: int, env: dict[str, str]) -> ServiceRecord:
    """`prefect server start` on 127.0.0.1:`port`; the first start creates its tables."""
    log = services_dir / "logs" / "prefect.log"
    home = services_dir / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    server_env = {**os.environ, **env, "PREFECT_HOME": str(home),
                  "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url(db, creds, "prefect", driver="asyncpg"),
                  "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    server_env.pop("PREFECT_API_URL", None)
    args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    pid = spawn(args, log, env=server_env, cwd=services_dir)
    record = ServiceRecord(NAME, pid, f"http://127.0.0.1:{port}/api", str(log), {"port": port})
    start_or_stop(pid, lambda: healthy(record), "Prefect server", log, timeout_s=180)
    return record


def shutdown(record: ServiceRecord) -> bool:
    return stop(record.pid, timeout_s=20)
