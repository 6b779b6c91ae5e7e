"""`landmark services up|status|down`: the team stack on this machine, in dependency order:
PostgreSQL -> object store -> MLflow server -> Prefect server -> Prefect worker.

State (pids, ports, URLs) is in <services>/state.json, logs in <services>/logs/, secrets in
<services>/credentials.json (0600). `client_env` is what points the `landmark` commands, DVC and the
flows at the stack."""

from __future__ import annotations

import json
import logging
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from landmark.data.versions import REMOTE_ENV as DVC_REMOTE_ENV
from landmark.env import OFFLINE_ENV
from landmark.services import mlflow_server, object_store, postgres, prefect_server, prefect_worker
from landmark.services.process import ServiceError, alive, free_ports, group_members, log_tail
from landmark.services.record import Credentials, ServiceRecord

log = logging.getLogger(__name__)

SERVICES_DIR_ENV = "LANDMARK_SERVICES_DIR"
ORDER = (postgres.NAME, object_store.NAME, mlflow_server.NAME, prefect_server.NAME, prefect_worker.NAME)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int
    running: bool
    healthy: bool
    url: str
    log: str


def services_dir(root: Path) -> Path:
    """LANDMARK_SERVICES_DIR when set, else <root>/.landmark/services."""
    wanted = os.environ.get(SERVICES_DIR_ENV)
    return Path(wanted).resolve() if wanted else root / ".landmark" / "services"


def credentials(folder: Path) -> Credentials:
    """The stack's secrets: read, or drawn on first use and kept (0600)."""
    path = folder / "credentials.json"
    if path.is_file():
        return Credentials(**json.loads(path.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    creds = Credentials("landmark", secrets.token_hex(16), "landmark" + secrets.token_hex(6), secrets.token_hex(20))
    path.touch(mode=0o600)
    path.write_text(json.dumps(asdict(creds), indent=2))
    return creds


def read_state(folder: Path) -> dict[str, ServiceRecord]:
    path = folder / "state.json"
    if not path.is_file():
        return {}
    return {name: ServiceRecord.from_dict(raw) for name, raw in json.loads(path.read_text()).items()}


def _write_state(folder: Path, state: dict[str, ServiceRecord]) -> None:
    path = folder / "state.json"
    path.write_text(json.dumps({name: record.to_dict() for name, record in state.items()}, indent=2))


def client_env(state: dict[str, ServiceRecord], creds: Credentials) -> dict[str, str]:
    """Variables that point the CLI, the flows, MLflow, Prefect and DVC at the running stack."""
    env: dict[str, str] = {}
    if mlflow_server.NAME in state:
        env["MLFLOW_TRACKING_URI"] = state[mlflow_server.NAME].url
    if prefect_server.NAME in state:
        env["PREFECT_API_URL"] = state[prefect_server.NAME].url
    if object_store.NAME in state:
        env.update({"AWS_ENDPOINT_URL": state[object_store.NAME].url, "AWS_ACCESS_KEY_ID": creds.s3_access_key,
                    "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key, "AWS_DEFAULT_REGION": "us-east-1",
                    DVC_REMOTE_ENV: f"s3://{object_store.BUCKET}/dvc"})
    return env


def _healthy(record: ServiceRecord, state: dict[str, ServiceRecord], creds: Credentials) -> bool:
    if record.name == postgres.NAME:
        return postgres.healthy(record, creds)
    if record.name == object_store.NAME:
        return object_store.healthy(record, creds)
    if record.name == mlflow_server.NAME:
        return mlflow_server.healthy(record)
    if record.name == prefect_server.NAME:
        return prefect_server.healthy(record)
    return prefect_worker.healthy(record, record.url)


def status(folder: Path) -> list[ServiceStatus]:
    """Each recorded service: its process runs, and its health check answers."""
    state = read_state(folder)
    if not state:
        return []
    creds = credentials(folder)
    out = []
    for name in ORDER:
        if name in state:
            record = state[name]
            running = alive(record.pid)
            out.append(ServiceStatus(name, record.pid, running, running and _healthy(record, state, creds),
                                     record.url, record.log))
    return out


def up(folder: Path, project_root: Path, worker: bool = True) -> dict[str, ServiceRecord]:
    """Start every service that is not running (healthy ones are kept); returns the state. A service
    that fails to start raises ServiceError; what started before it keeps running (see `down`)."""
    folder.mkdir(parents=True, exist_ok=True)
    creds = credentials(folder)
    state = {name: record for name, record in read_state(folder).items() if alive(record.pid)}
    env = dict(OFFLINE_ENV)
    ports = iter(free_ports(4))

    def keep(record: ServiceRecord) -> ServiceRecord:
        state[record.name] = record
        _write_state(folder, state)
        return record

    db = state.get(postgres.NAME) or keep(postgres.start(folder, creds, next(ports)))
    store = state.get(object_store.NAME) or keep(object_store.start(folder, creds, next(ports)))
    # the two servers need only the database and the store: they start (and migrate) side by side
    starts = {}
    if mlflow_server.NAME not in state:
        mlflow_port = next(ports)
        starts[mlflow_server.NAME] = lambda: mlflow_server.start(folder, creds, db, store, mlflow_port, env)
    if prefect_server.NAME not in state:
        prefect_port = next(ports)
        starts[prefect_server.NAME] = lambda: prefect_server.start(folder, creds, db, prefect_port, env)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(start) for name, start in starts.items()}
    failures = []
    for future in futures.values():
        try:
            keep(future.result())
        except ServiceError as exc:
            failures.append(str(exc))
    if failures:
        raise ServiceError("\n".join(failures))
    if worker and prefect_worker.NAME not in state:
        worker_env = {**env, **client_env(state, creds)}
        keep(prefect_worker.start(folder, state[prefect_server.NAME].url, worker_env, project_root))
    return state


def down(folder: Path) -> list[tuple[str, bool]]:
    """Stop every recorded service, last started first (SIGTERM, or SIGINT for PostgreSQL; SIGKILL after
    a timeout, logging the last lines of its log). Returns (name, had to be killed). The state file is
    removed; data and logs stay."""
    state = read_state(folder)
    stopped = []
    shutdowns = {postgres.NAME: postgres.shutdown, object_store.NAME: object_store.shutdown,
                 mlflow_server.NAME: mlflow_server.shutdown, prefect_server.NAME: prefect_server.shutdown,
                 prefect_worker.NAME: prefect_worker.shutdown}
    for name in reversed(ORDER):
        if name in state:
            killed = shutdowns[name](state[name])
            if killed:  # what it was doing when it would not stop
                log.warning("%s killed; last lines of %s:\n%s", name, state[name].log,
                            log_tail(Path(state[name].log), 30))
            stopped.append((name, killed))
    (folder / "state.json").unlink(missing_ok=True)
    return stopped


def leftover_processes(records: dict[str, ServiceRecord]) -> dict[str, list[int]]:
    """Processes still alive in the process group of each record (empty after a clean `down`)."""
    return {name: members for name, record in records.items() if (members := group_members(record.pid))}
