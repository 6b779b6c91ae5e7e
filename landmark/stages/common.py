"""Small helpers every stage entry point uses: logging set-up, metrics JSON, clean failure."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def setup_logging(level: int = logging.INFO) -> None:
    """Log lines to stderr with the stage's module name."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write a metrics JSON (sorted keys, floats rounded for readable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()}
    path.write_text(json.dumps(rounded, indent=2, sort_keys=True) + "\n")


def run_stage(main: Callable[[], None], expected: tuple[type[BaseException], ...] = (ValueError,)) -> None:
    """Run a stage's main(); an expected error ends the process with its message and exit code 2."""
    setup_logging()
    try:
        main()
    except expected as exc:
        logging.getLogger("landmark.stage").error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
