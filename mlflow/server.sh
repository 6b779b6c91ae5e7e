#!/usr/bin/env bash
# Start the MLflow tracking/registry server over the project's sqlite store on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export MLFLOW_DISABLE_TELEMETRY=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec "$here/../.venv/bin/mlflow" server --backend-store-uri "sqlite:///$here/mlflow.db" \
  --default-artifact-root "$here/artifacts" --host 127.0.0.1 --port "${PORT:-5000}" --workers 1
