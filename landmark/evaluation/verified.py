"""Verified labels for evaluation: the database is noisy, but the photos we score against must not be.

A verified-labels file (`image_id, filed_landmark, true_landmark`; the sample world writes one as
data/noise_truth.csv) corrects the label of held-out photos before the emulated collection is built.
Training and the index never see it: only the `query` and `unknown` rows are corrected.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from landmark.data.manifest import SPLIT_QUERY, SPLIT_UNKNOWN

log = logging.getLogger(__name__)


def apply_verified_labels(split_manifest: pd.DataFrame, truth_csv: Path, known: set[str]) -> pd.DataFrame:
    """A copy of the split manifest whose held-out rows carry their verified landmark.

    A held-out photo filed under a left-out landmark that truly shows a known one becomes a `query` of
    that landmark; one filed under a known landmark that shows another or none is scored as such.
    """
    if not Path(truth_csv).is_file():
        return split_manifest
    truth = pd.read_csv(truth_csv, dtype=str, keep_default_na=False)
    true_of = dict(zip(truth["image_id"], truth["true_landmark"], strict=True))
    frame = split_manifest.copy()
    held_out = frame["split"].isin([SPLIT_QUERY, SPLIT_UNKNOWN]) & frame["image_id"].isin(true_of)
    corrected = frame.loc[held_out, "image_id"].map(true_of)
    frame.loc[held_out, "landmark"] = corrected
    to_query = held_out & (frame["split"] == SPLIT_UNKNOWN) & frame["landmark"].isin(known)
    frame.loc[to_query, "split"] = SPLIT_QUERY
    log.info("verified labels: corrected %d held-out photos (%d moved from unknown to query)",
             int(held_out.sum()), int(to_query.sum()))
    return frame
