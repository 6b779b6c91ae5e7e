"""Run every bench/bench_*.py module's `main()`, collect its rows and write bench/RESULTS.md.

A bench module's `main()` measures and returns a list of dicts with at least the keys
figure, project, baseline, ratio (medians of several repeats, baseline measured in the same run);
any further keys (unit, note, ...) become extra columns. A module that fails is reported with its
error and does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import platform
import subprocess
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
CORE_KEYS = ("figure", "project", "baseline", "ratio")
VERSIONED = ("torch", "onnxruntime", "faiss-cpu", "numpy", "timm", "pillow")


def discover(names: list[str] | None = None) -> list[str]:
    """Module names bench_*.py in bench/, sorted; `names` (with or without the bench_ prefix) filters."""
    found = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in names}
        missing = wanted - set(found)
        if missing:
            raise SystemExit(f"no such bench module(s): {sorted(missing)}; found {found}")
        found = [n for n in found if n in wanted]
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """CPU model, usable cores, memory, load, library versions, date and git commit of this run."""
    info = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": _cpu_model(),
            "cores (usable)": str(len(os.sched_getaffinity(0))), "python": platform.python_version()}
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        info["memory"] = f"{pages / 2**30:.1f} GiB"
        info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, ValueError, AttributeError):
        pass
    for package in VERSIONED:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    try:
        info["git commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR,
                                            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: figure, project, baseline, ratio, then the other keys in first-seen order."""
    extra: list[str] = []
    for row in rows:
        extra += [k for k in row if k not in CORE_KEYS and k not in extra]
    columns = [*CORE_KEYS, *extra]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def run_module(name: str) -> tuple[list[dict[str, Any]], float, str | None]:
    """Import bench.<name> and call main(): (rows, seconds, error text or None)."""
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        rows = list(module.main() or [])
        for row in rows:
            missing = [k for k in CORE_KEYS if k not in row]
            if missing:
                raise ValueError(f"{name}: row {row} lacks {missing}")
        return rows, time.perf_counter() - start, None
    except Exception:  # noqa: BLE001 - one failing bench must not stop the others
        log.exception("bench %s failed", name)
        return [], time.perf_counter() - start, traceback.format_exc(limit=3)


def render(info: dict[str, str], results: list[tuple[str, list[dict[str, Any]], float, str | None]]) -> str:
    """The whole RESULTS.md text."""
    out = ["# Benchmark results", "",
           "Written by `make bench` (`python -m bench`). Each figure: the project's number, the baseline",
           "measured in the same run, project / baseline (for times, baseline / project: > 1 is faster),",
           "medians of several repeats. Numbers from different runs are not compared.", "",
           "## Machine", "", "| | |", "|---|---|"]
    out += [f"| {k} | {_cell(v)} |" for k, v in info.items()]
    for name, rows, seconds, error in results:
        out += ["", f"## {name} ({seconds:.0f} s)", ""]
        if error:
            out += ["FAILED:", "", "```", error.strip(), "```"]
        elif rows:
            out.append(table(rows))
        else:
            out.append("(no rows)")
    return "\n".join(out) + "\n"


def run(names: list[str] | None = None, out: Path = RESULTS) -> Path:
    """Run the bench modules (all by default), write `out`, return its path."""
    info = machine()
    results = []
    for name in discover(names):
        log.info("bench %s ...", name)
        rows, seconds, error = run_module(name)
        log.info("bench %s: %d rows in %.0f s%s", name, len(rows), seconds, " (FAILED)" if error else "")
        results.append((name, rows, seconds, error))
    out.write_text(render(info, results))
    log.info("wrote %s", out)
    return out
