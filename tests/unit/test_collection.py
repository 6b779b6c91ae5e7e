"""The emulated user collection from a split manifest."""

from __future__ import annotations

import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK
from landmark.evaluation.collection import emulated_collection, landmark_count, truth_array


def _manifest() -> pd.DataFrame:
    rows = []
    for lm in ("a", "b"):
        rows += [(f"{lm}{i}", lm, "train") for i in range(5)] + [
            (f"{lm}q{i}", lm, "query") for i in range(20)
        ]
    rows += [(f"u{i}", "u", "unknown") for i in range(10)]
    rows += [(f"n{i}", NON_LANDMARK, "query") for i in range(90)]
    rows += [(f"c{i}", NON_LANDMARK, "calibration") for i in range(30)]
    return pd.DataFrame(rows, columns=["image_id", "landmark", "split"]).assign(
        path=lambda f: f.image_id + ".png"
    )


def test_landmark_count() -> None:
    assert landmark_count(95, 1000, 0.05, 0) == 5
    assert landmark_count(95, 1000, 0.05, 10) == 10
    assert landmark_count(95, 3, 0.05, 10) == 3
    with pytest.raises(ValueError):
        landmark_count(10, 10, 1.0, 0)


def test_collection_roles_and_share() -> None:
    coll = emulated_collection(_manifest(), {"a", "b"}, share=0.1, minimum=0, seed=1)
    counts = coll["role"].value_counts().to_dict()
    assert counts == {"non_landmark": 90, "unknown": 10, "known": 11}  # round(0.1 * 100 / 0.9) = 11
    assert set(coll.loc[coll.role == "known", "image_id"].str[1]) == {"q"}  # only held-out photos
    truth = truth_array(coll)
    assert sum(t is not None for t in truth) == 11
    assert set(coll.loc[coll.role == "unknown", "truth"]) == {""}
    again = emulated_collection(_manifest(), {"a", "b"}, share=0.1, minimum=0, seed=1)
    assert again["image_id"].tolist() == coll["image_id"].tolist()


def test_minimum_and_unknown_query_rows() -> None:
    coll = emulated_collection(_manifest(), {"a"}, share=0.01, minimum=15, seed=0)
    counts = coll["role"].value_counts().to_dict()
    assert counts["known"] == 15
    assert counts["unknown"] == 30  # landmark b is not in the index: its query photos must be rejected
    with pytest.raises(ValueError):
        emulated_collection(_manifest().drop(columns="split"), {"a"}, 0.1, 0, 0)
