"""The MLflow tracking and registry server: runs, params, metrics and model versions in PostgreSQL;
artifacts proxied by the server (`--serve-artifacts`) into the object store, so clients need only
MLFLOW_TRACKING_URI (no S3 credentials)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from landmark.services import postgres
from landmark.services.object_store import BUCKET
from landmark.services.process import http_ok, spawn, start_or_stop, stop
from landmark.services.record import Credentials, ServiceRecord

NAME = "mlflow"
ARTIFACTS = f"s3://{BUCKET}/mlflow"


def healthy(record: ServiceRecord) -> bool:
    return http_ok(record.url + "/health")


def start(services_dir: Path, creds: Credentials, db: ServiceRecord, store: ServiceRecord, port: int,
          env: dict[str, str]) -> ServiceRecord:
    """`mlflow server` on 127.0.0.1:`port`, one worker; the first start creates its tables."""
    log = services_dir / "logs" / "mlflow.log"
    args = [sys.executable, "-m", "mlflow", "server", "--artifacts-destination", ARTIFACTS, "--serve-artifacts",
            "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1"]
    # the store's URL (with its password) goes in the environment, not on the command line `ps` shows
    server_env = {**os.environ, **env, "MLFLOW_BACKEND_STORE_URI": postgres.url(db, creds, "mlflow"),
                  "MLFLOW_S3_ENDPOINT_URL": store.url, "AWS_ACCESS_KEY_ID": creds.s3_access_key,
                  "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    server_env.pop("MLFLOW_TRACKING_URI", None)
    pid = spawn(args, log, env=server_env, cwd=services_dir)
    record = ServiceRecord(NAME, pid, f"http://127.0.0.1:{port}", str(log), {"port": port},
                           {"artifacts": ARTIFACTS})
    start_or_stop(pid, lambda: healthy(record), "MLflow server", log, timeout_s=180)
    return record


def shutdown(record: ServiceRecord) -> bool:
    return stop(record.pid, timeout_s=20)
