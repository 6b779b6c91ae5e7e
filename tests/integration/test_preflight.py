"""Services that are down or hang give a clear error within the timeout, never a hang."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.preflight import PreflightError, check_mlflow, check_prefect


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """A socket on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    server.close()


def test_mlflow_server_down_is_named_with_the_remedy() -> None:
    with pytest.raises(PreflightError, match=r"MLflow server at http://127\.0\.0\.1:\d+ is not reachable.*server\.sh"):
        check_mlflow(f"http://127.0.0.1:{_free_port()}", timeout_s=1.0)


def test_hanging_mlflow_server_times_out(silent_server: str) -> None:
    with pytest.raises(PreflightError, match="not reachable.*timed out"):
        check_mlflow(silent_server, timeout_s=0.5)  # a hang would trip the suite's pytest-timeout


def test_prefect_server_down_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{_free_port()}/api")
    with pytest.raises(PreflightError, match="Prefect server .* not reachable.*prefect server start"):
        check_prefect(timeout_s=1.0)


def test_no_prefect_server_configured_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    check_prefect()


def test_missing_sqlite_folder(tmp_path: Path) -> None:
    with pytest.raises(PreflightError, match="does not exist"):
        check_mlflow(f"sqlite:///{tmp_path}/nowhere/mlflow.db")
