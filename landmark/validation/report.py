"""The validate stage's outputs: validated manifest, quarantine CSV, metrics JSON, HTML report."""

from __future__ import annotations

import html
import json
from pathlib import Path

from landmark.data.manifest import NON_LANDMARK, write_manifest
from landmark.validation import checks
from landmark.validation.validate import ValidationResult

MAX_QUARANTINE_ROWS_SHOWN = 50

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.bad{color:#b00020;font-weight:bold}.ok{color:#1b7f3b}td.num{text-align:right}"""


def _table(headers: list[str], rows: list[list[object]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if j in numeric else ''}>{html.escape(str(v))}</td>" for j, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_report(result: ValidationResult, source: str = "data/manifest.csv") -> str:
    """A self-contained HTML page: counts, failures per check, the GX expectations, per-landmark
    counts and the first quarantined rows."""
    m = result.metrics
    status = (
        "<p class=ok>every row kept</p>"
        if m["quarantined"] == 0
        else f"<p class=bad>{m['quarantined']} of {m['rows_in']} rows quarantined</p>"
    )
    counts = _table(
        [
            "rows in",
            "kept",
            "quarantined",
            "landmarks",
            "landmark photos",
            "non-landmark photos",
            "EXIF-rotated",
            "duplicate content",
            "seconds",
        ],
        [
            [
                m["rows_in"],
                m["kept"],
                m["quarantined"],
                m["landmarks"],
                m["landmark_photos"],
                m["non_landmark"],
                m["exif_rotated"],
                m["duplicate_content"],
                m.get("seconds", ""),
            ]
        ],
        numeric=set(range(9)),
    )
    by_check = _table(
        ["check", "what it asks", "rows quarantined"],
        [[c, checks.DESCRIPTIONS[c], m["by_check"].get(c, 0)] for c in checks.ALL_CHECKS],
        {2},
    )
    expectations = _table(
        ["suite check", "expectation", "column", "result", "unexpected rows"],
        [
            [o.check, o.expectation, o.column, "pass" if o.success else "FAIL", o.unexpected_count]
            for o in result.expectations
        ],
        {4},
    )
    modes = _table(["original mode", "kept photos"], [[k, v] for k, v in m["modes"].items()], {1})
    kept = result.kept
    per_landmark_rows: list[list[object]] = []
    if len(kept):
        counts_kept = kept["landmark"].value_counts()
        per_landmark_rows = [
            [("(non-landmark)" if name == NON_LANDMARK else name), int(n)]
            for name, n in sorted(counts_kept.items(), key=lambda kv: (-kv[1], str(kv[0])))
        ]
    per_landmark = _table(["landmark", "kept photos"], per_landmark_rows, {1})
    shown = result.quarantine.head(MAX_QUARANTINE_ROWS_SHOWN)
    quarantine = _table(
        ["row", "image_id", "path", "check", "reason", "detail"],
        [[r.row, r.image_id, r.source, checks.check_of(r.reason), r.reason, r.detail] for r in shown.itertuples()],
        {0},
    )
    more = (
        f"<p>... and {len(result.quarantine) - len(shown)} more in quarantine.csv</p>"
        if len(result.quarantine) > len(shown)
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Validation report</title>
<style>{_STYLE}</style></head><body>
<h1>Validation report</h1><p>Input: <code>{html.escape(source)}</code>. Row numbers are 1-based data rows
(the CSV line number minus the header).</p>{status}
<h2>Counts</h2>{counts}
<h2>Failures per check</h2>
<p>Each quarantined row is counted once, under the first check it failed.</p>{by_check}
<h2>great-expectations suites</h2>{expectations}
<h2>Original image modes (normalised to 8-bit RGB)</h2>{modes}
<h2>Photos per landmark (kept)</h2>{per_landmark}
<h2>Quarantined rows (first {MAX_QUARANTINE_ROWS_SHOWN})</h2>{quarantine}{more}
</body></html>
"""


def write_outputs(
    result: ValidationResult, out_dir: Path, source: str = "data/manifest.csv"
) -> dict[str, Path]:
    """Write manifest.csv, quarantine.csv, metrics.json and report.html into `out_dir`; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        name: out_dir / name for name in ("manifest.csv", "quarantine.csv", "metrics.json", "report.html")
    }
    write_manifest(result.kept, paths["manifest.csv"])
    result.quarantine.to_csv(paths["quarantine.csv"], index=False)
    paths["metrics.json"].write_text(json.dumps(result.metrics, indent=2, sort_keys=True) + "\n")
    paths["report.html"].write_text(render_report(result, source), encoding="utf-8")
    return paths


def flat_metrics(metrics: dict[str, object]) -> dict[str, float]:
    """Numeric metrics with nested dicts flattened to `outer.inner` (for MLflow)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": float(v) for k, v in value.items() if isinstance(v, int | float)})
        elif isinstance(value, int | float):
            flat[key] = float(value)
    return flat
