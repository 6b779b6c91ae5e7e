"""Stage `validate`: data/manifest.csv + photos -> artifacts/validate/{manifest,quarantine}.csv,
report.html, metrics.json. `python -m landmark.stages.validate` from the project root.

A broken table (no manifest, unreadable CSV, missing column, no rows) or a result that keeps no row
ends the process with exit code 2 and one line naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import logging
import sys

from landmark import layout
from landmark.data.manifest import ManifestError, read_manifest
from landmark.params import ParamsError, load_params
from landmark.validation.checks import BrokenTableError, NothingKeptError, ValidationError

log = logging.getLogger("landmark.stages.validate")


def run() -> dict[str, object]:
    """Validate the data root of the project in the cwd; return the metrics."""
    params = load_params().validate
    source = layout.DATA_MANIFEST
    try:
        manifest = read_manifest(source)
    except ManifestError as exc:
        raise BrokenTableError(str(exc)) from exc
    # imported only once the table is readable: a broken table fails in about a second, not ten
    from landmark.registry.tracking import log_artifact_safe, log_metrics_safe, stage_run
    from landmark.validation.report import flat_metrics, write_outputs
    from landmark.validation.validate import validate_manifest

    with stage_run("validate", dataclasses.asdict(params)):
        result = validate_manifest(
            manifest, layout.DATA, params, progress=sys.stderr.isatty(), source=str(source)
        )
        paths = write_outputs(result, layout.VALIDATE, source=str(source))
        log_metrics_safe(flat_metrics(result.metrics))
        for name in ("report.html", "quarantine.csv", "metrics.json"):
            log_artifact_safe(paths[name], artifact_path="validate")
    log.info(
        "wrote %s: kept %d of %d rows (%s)",
        layout.VALIDATE,
        result.metrics["kept"],
        result.metrics["rows_in"],
        {k: v for k, v in result.metrics["by_check"].items() if v},
    )
    if result.metrics["kept"] == 0:
        raise NothingKeptError(
            f"{source}: every one of {result.metrics['rows_in']} rows was quarantined; "
            f"see {layout.VALIDATE / 'report.html'}"
        )
    return result.metrics


def main() -> None:
    """Entry point: exit 0 on success, 2 with a one-line message on a broken table or bad params."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    try:
        run()
    except (ValidationError, ParamsError) as exc:
        log.error("%s", exc)
        print(f"validate: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
