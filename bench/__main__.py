"""`python -m bench [name ...] [--out PATH]`: run the benchmarks (all bench_*.py by default), write RESULTS.md."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.runner import RESULTS, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="bench modules to run (e.g. inference or bench_search)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from landmark.env import apply_offline_env

    apply_offline_env()
    path = run(args.names or None, args.out)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
