"""The services stack's process handling on real processes: ports, stopping a whole process group
(one that ignores SIGTERM is killed after the timeout), the state file and the client variables."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from landmark.services.process import alive, free_ports, group_members, spawn, stop
from landmark.services.record import Credentials, ServiceRecord
from landmark.services.stack import client_env, credentials, read_state


def test_free_ports_are_distinct_and_bindable() -> None:
    import socket

    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def _wait_for_members(pid: int, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(group_members(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_stop_ends_the_group_with_sigterm(tmp_path: Path) -> None:
    pid = spawn(["sh", "-c", "sleep 60 & sleep 60 & wait"], tmp_path / "log")
    _wait_for_members(pid, 3)
    assert len(group_members(pid)) == 3  # the shell and its two children
    assert stop(pid, timeout_s=5) is False  # ended by SIGTERM, no kill needed
    assert group_members(pid) == [] and not alive(pid)


def test_stop_kills_a_group_that_ignores_sigterm(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pid = spawn(["sh", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"], tmp_path / "log")
    _wait_for_members(pid, 2)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="landmark.services.process"):
        assert stop(pid, timeout_s=0.5) is True
    assert time.monotonic() - started < 5
    assert group_members(pid) == [] and not alive(pid)
    # the kill names what was still running, so that it can be understood afterwards
    assert f"process group {pid} still running" in caplog.text and "sleep 60" in caplog.text


def test_credentials_are_drawn_once_and_private(tmp_path: Path) -> None:
    first = credentials(tmp_path)
    assert credentials(tmp_path) == first
    assert (tmp_path / "credentials.json").stat().st_mode & 0o077 == 0
    assert read_state(tmp_path) == {}


def test_client_env_names_each_running_service() -> None:
    creds = Credentials("u", "p", "AK", "SK")
    state = {name: ServiceRecord(name, 1, url, "log") for name, url in
             [("mlflow", "http://127.0.0.1:1"), ("prefect", "http://127.0.0.1:2/api"),
              ("object_store", "http://127.0.0.1:3")]}
    env = client_env(state, creds)
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:1" and env["PREFECT_API_URL"] == "http://127.0.0.1:2/api"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:3" and env["AWS_ACCESS_KEY_ID"] == "AK"
    assert env["LANDMARK_DVC_REMOTE"] == "s3://landmark/dvc"
    assert client_env({}, creds) == {}
