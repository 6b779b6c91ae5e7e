"""The great-expectations (1.x) suites built from the data contract, and the run that turns their
failing row indices into per-check row sets.

One ephemeral GX context per validation run (`GxRunner`); great_expectations is imported only when a
runner is made (the import costs about 4 s). Two suites:
  rows   - before the file checks: ids present and unique, labels present, safe relative paths,
           coordinates in range, at least one row;
  counts - after the file checks, on the surviving rows: every landmark label is one that keeps at
           least `min_photos_per_landmark` photos (NON_LANDMARK is always allowed).
`result_format="COMPLETE"` gives `unexpected_index_list`: the frame's index labels of failing rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from landmark.data.manifest import NON_LANDMARK
from landmark.validation import checks

log = logging.getLogger(__name__)

# relative, forward slashes, no drive letter, no backslash, no `..` segment, not empty
SAFE_PATH_REGEX = r"^(?![/\\])(?![A-Za-z]:)(?!.*\\)(?!(?:.*/)?\.\.(?:/|$)).+$"
NOT_BLANK_REGEX = r"\S"


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result: which check it serves, whether it passed, the failing row labels."""

    check: str
    expectation: str
    column: str
    success: bool
    unexpected_count: int
    unexpected_index: tuple[Any, ...] = field(default=())


def row_expectations(columns: Iterable[str]) -> list[tuple[str, Any]]:
    """(check name, GX expectation) pairs of the row suite for a manifest with these columns."""
    import great_expectations.expectations as gxe

    present = set(columns)
    pairs: list[tuple[str, Any]] = [("table", gxe.ExpectTableRowCountToBeBetween(min_value=1))]
    pairs += [("table", gxe.ExpectColumnToExist(column=c)) for c in ("image_id", "path", "landmark")]
    pairs += [
        (checks.IMAGE_ID, gxe.ExpectColumnValuesToNotBeNull(column="image_id")),
        (checks.IMAGE_ID, gxe.ExpectColumnValuesToMatchRegex(column="image_id", regex=NOT_BLANK_REGEX)),
        (checks.DUPLICATE_ID, gxe.ExpectColumnValuesToBeUnique(column="image_id")),
        (checks.LABEL, gxe.ExpectColumnValuesToNotBeNull(column="landmark")),
        (checks.LABEL, gxe.ExpectColumnValuesToMatchRegex(column="landmark", regex=NOT_BLANK_REGEX)),
        (checks.PATH, gxe.ExpectColumnValuesToNotBeNull(column="path")),
        (checks.PATH, gxe.ExpectColumnValuesToMatchRegex(column="path", regex=SAFE_PATH_REGEX)),
    ]
    for column, limit in (("lat", 90.0), ("lon", 180.0)):
        if column in present:
            pairs.append(
                (
                    checks.COORDINATES,
                    gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-limit, max_value=limit),
                )
            )
    return pairs


def count_expectations(allowed_labels: Iterable[str]) -> list[tuple[str, Any]]:
    """The counts suite: labels restricted to landmarks with enough photos, plus NON_LANDMARK."""
    import great_expectations.expectations as gxe

    value_set = sorted(set(allowed_labels) | {NON_LANDMARK})
    return [(checks.MIN_PHOTOS, gxe.ExpectColumnValuesToBeInSet(column="landmark", value_set=value_set))]


class GxRunner:
    """One ephemeral GX context with a pandas dataframe asset; validates frames against suites."""

    def __init__(self) -> None:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines are noise
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)  # GX resets its levels on import
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("manifest").add_dataframe_asset("manifest")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole")

    def validate(
        self, name: str, pairs: list[tuple[str, Any]], frame: pd.DataFrame
    ) -> list[ExpectationOutcome]:
        """Validate `frame` against the suite `name` made of `pairs`; one outcome per expectation."""
        suite = self.context.suites.add(self._gx.ExpectationSuite(name=name))
        check_of: dict[str, str] = {}
        for check, expectation in pairs:
            added = suite.add_expectation(expectation)
            check_of[str(added.id)] = check
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format="COMPLETE")
        outcomes = []
        for item in result.results:
            config = item.expectation_config
            assert config is not None, "GX results carry their expectation"
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"GX expectation {config.type} raised: {item.exception_info.get('exception_message')}"
                )
            index = tuple(item.result.get("unexpected_index_list") or ())
            count = int(item.result.get("unexpected_count") or len(index))
            outcomes.append(
                ExpectationOutcome(
                    check=check_of.get(str(config.id), "table"),
                    expectation=config.type,
                    column=str(config.kwargs.get("column", "")),
                    success=bool(item.success),
                    unexpected_count=count,
                    unexpected_index=index,
                )
            )
        log.debug("GX suite %s: %s", name, result.statistics)
        return outcomes


def failing_rows(outcomes: list[ExpectationOutcome], check: str) -> set[Any]:
    """Index labels of the rows that failed any expectation serving `check`."""
    return {label for o in outcomes if o.check == check for label in o.unexpected_index}
