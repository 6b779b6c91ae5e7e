"""PostgreSQL from the system's binaries (Debian's `postgresql` package): a private cluster in the
services folder, listening on 127.0.0.1 only (no Unix socket), password (scram) login, with one
database each for MLflow and Prefect."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from landmark.services.process import ServiceError, spawn, stop, wait_until
from landmark.services.record import Credentials, ServiceRecord

DATABASES = ("mlflow", "prefect")
NAME = "postgres"


def bin_dir() -> Path:
    """The folder of initdb/postgres: PG_BIN when set, else the newest /usr/lib/postgresql/*/bin, else
    wherever `initdb` is on PATH. Raises ServiceError saying how to install it."""
    wanted = os.environ.get("PG_BIN")
    candidates = [Path(wanted)] if wanted else []
    candidates += sorted((Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise ServiceError("PostgreSQL server binaries not found (initdb, postgres): install them with "
                       "`apt-get install -y postgresql` (Debian) or set PG_BIN to their folder")


def run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` account."""
    return "postgres" if os.geteuid() == 0 else None


def _reachable_by(user: str | None, folder: Path) -> bool:
    if user is None:
        return True
    return subprocess.run(["test", "-w", str(folder)], user=user, group=user, check=False).returncode == 0


def data_dir(services_dir: Path) -> Path:
    """<services>/postgres; as root, when the `postgres` account cannot reach that folder (e.g. a
    project under a 0700 home), a folder of its own in the temp dir, named after the services folder."""
    user = run_as()
    wanted = services_dir / NAME
    services_dir.mkdir(parents=True, exist_ok=True)
    if user is None:
        return wanted
    wanted.mkdir(exist_ok=True)
    shutil.chown(wanted, user, user)
    if _reachable_by(user, wanted):
        return wanted
    digest = hashlib.sha256(str(services_dir.resolve()).encode()).hexdigest()[:12]
    outside = Path(tempfile.gettempdir()) / f"landmark-services-{digest}"
    outside.mkdir(mode=0o755, exist_ok=True)
    outside.chmod(0o755)
    fallback = outside / NAME
    fallback.mkdir(exist_ok=True)
    shutil.chown(fallback, user, user)
    return fallback


def _initdb(binaries: Path, folder: Path, creds: Credentials, user: str | None, log: Path) -> None:
    pwfile = folder.parent / f".pwfile-{os.getpid()}"
    pwfile.write_text(creds.db_password + "\n")
    pwfile.chmod(0o600)
    if user:
        shutil.chown(pwfile, user, user)
    try:
        done = subprocess.run([str(binaries / "initdb"), "-D", str(folder), "-U", creds.db_user, f"--pwfile={pwfile}",
                               "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"], user=user, group=user,
                              capture_output=True, text=True, check=False)
    finally:
        pwfile.unlink(missing_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise ServiceError(f"initdb failed in {folder} (exit {done.returncode}): {done.stderr.strip()[-1500:]}")


def url(record: ServiceRecord, creds: Credentials, database: str, driver: str = "psycopg2") -> str:
    """SQLAlchemy URL of `database` (driver psycopg2 for MLflow, asyncpg for Prefect)."""
    port = record.ports["port"]
    return f"postgresql+{driver}://{creds.db_user}:{creds.db_password}@127.0.0.1:{port}/{database}"


def connect(record: ServiceRecord, creds: Credentials, database: str = "postgres"):  # type: ignore[no-untyped-def]
    """A psycopg2 connection (autocommit) to `database`."""
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=record.ports["port"], user=creds.db_user,
                            password=creds.db_password, dbname=database, connect_timeout=3)
    conn.autocommit = True
    return conn


def healthy(record: ServiceRecord, creds: Credentials) -> bool:
    """`SELECT 1` answers."""
    try:
        conn = connect(record, creds)
    except Exception:  # noqa: BLE001 - any failure to connect means not healthy
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    finally:
        conn.close()


def start(services_dir: Path, creds: Credentials, port: int) -> ServiceRecord:
    """Initialise the cluster on first use, start it on 127.0.0.1:`port`, create the databases."""
    binaries = bin_dir()
    user = run_as()
    folder = data_dir(services_dir)
    log = services_dir / "logs" / "postgres.log"
    if not (folder / "PG_VERSION").is_file():
        _initdb(binaries, folder, creds, user, log)
    args = [str(binaries / "postgres"), "-D", str(folder), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=", "-c", "max_connections=60", "-c", "shared_buffers=64MB"]
    pid = spawn(args, log, user=user)
    record = ServiceRecord(NAME, pid, f"postgresql://127.0.0.1:{port}", str(log), {"port": port},
                           {"data_dir": str(folder)})
    try:
        wait_until(lambda: healthy(record, creds), "PostgreSQL", pid, log, timeout_s=60)
        conn = connect(record, creds)
        try:
            with conn.cursor() as cur:
                for name in DATABASES:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    if cur.fetchone() is None:
                        cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
    except Exception:
        shutdown(record)
        raise
    return record


def shutdown(record: ServiceRecord) -> bool:
    """Fast shutdown (SIGINT: roll back open transactions, disconnect clients)."""
    return stop(record.pid, signal.SIGINT, timeout_s=30)
