"""Stage `split`: the validated manifest -> artifacts/split/manifest.csv with a `split` column."""

from __future__ import annotations

import logging

from landmark import layout
from landmark.data.manifest import read_manifest, write_manifest
from landmark.data.split import assign_splits, split_counts
from landmark.params import load_params
from landmark.registry.tracking import log_metrics_safe, stage_run
from landmark.stages.common import run_stage, write_metrics

log = logging.getLogger(__name__)


def main() -> None:
    params = load_params()
    manifest = read_manifest(layout.VALIDATE / "manifest.csv")
    with stage_run("split", vars(params.split)):
        frame = assign_splits(manifest, params.split)
        write_manifest(frame, layout.SPLIT / "manifest.csv")
        metrics = split_counts(frame)
        write_metrics(layout.SPLIT / "metrics.json", metrics)
        log_metrics_safe(metrics)
        log.info("split %d rows: %s", len(frame), metrics)


if __name__ == "__main__":
    run_stage(main)
