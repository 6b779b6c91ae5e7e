"""Child processes of the services stack: start one in its own session with its log in a file, tell
whether it still runs, stop its whole process group (a signal, then SIGKILL after a timeout)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A service did not start or answer; the message names it and the log to read."""


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (all held open together while they are drawn)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def spawn(args: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None,
          user: str | None = None) -> int:
    """Start `args` detached (own session, so its process group is its pid), stdout and stderr to
    `log_path`; `user` runs it as that account (needs root). Returns the pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
                                user=user, group=user)
    return proc.pid


def process_state(pid: int) -> str | None:
    """The one-letter state of /proc/PID/stat (R, S, D, Z, ...), None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """The process runs and is not a zombie (a killed process nobody reaped yet still holds its PID)."""
    return process_state(pid) not in (None, "Z")


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (a service and the children it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _reap(pid: int) -> None:
    try:  # our own child (started in this process): collect it so it does not stay a zombie
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(pid: int, first_signal: signal.Signals = signal.SIGTERM, timeout_s: float = 20.0) -> bool:
    """Send `first_signal` to the process group of `pid`, wait up to `timeout_s` for every member to
    end, then SIGKILL what is left. Returns True when it had to kill."""
    if not group_members(pid) and not alive(pid):
        return False
    try:
        os.killpg(pid, first_signal)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not group_members(pid):
            return False
        time.sleep(0.2)
    # what did not end, so that a kill can be understood afterwards (the services' logs may be gone)
    log.warning("process group %d still running %.0f s after %s, killing: %s", pid, timeout_s, first_signal.name,
                "; ".join(describe(m) for m in group_members(pid)))
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5.0
    while group_members(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    return True


def wait_until(ready: Callable[[], bool], what: str, pid: int, log_path: Path, timeout_s: float) -> None:
    """Poll `ready` until it is true; raise ServiceError (with the log's tail) when the process dies
    or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive(pid):
            _reap(pid)
            raise ServiceError(f"{what} exited while starting; last lines of {log_path}:\n{log_tail(log_path)}")
        time.sleep(0.3)
    raise ServiceError(f"{what} not ready after {timeout_s:.0f} s; last lines of {log_path}:\n{log_tail(log_path)}")


def start_or_stop(pid: int, ready: Callable[[], bool], what: str, log_path: Path, timeout_s: float,
                  stop_timeout_s: float = 20.0) -> None:
    """`wait_until` the service is ready; one that never gets there is stopped (its whole process group)
    before the error is raised, so a failed `up` leaves no process behind."""
    try:
        wait_until(ready, what, pid, log_path, timeout_s)
    except Exception:
        stop(pid, timeout_s=stop_timeout_s)
        raise


def describe(pid: int) -> str:
    """`pid [state] command line` (cut to 160 characters) of a live process, for diagnostics."""
    state = process_state(pid)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"{pid} [gone]"
    return f"{pid} [{state or 'gone'}] {command[:160]}"


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """GET `url` answers 2xx."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
