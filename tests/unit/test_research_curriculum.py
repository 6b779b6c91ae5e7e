"""The experiments' inputs to the product's curriculum loop (research.train_real): stage schedule, parts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK
from landmark.training.curriculum import class_order, stage_rows
from research.train_real import difficulty_parts, stage_schedule, with_parts


def test_schedule_spreads_epochs_and_divides_the_learning_rate() -> None:
    stages = stage_schedule(10, 3, 0.003, 64)
    assert [s.epochs for s in stages] == [4, 3, 3]
    assert [s.lr for s in stages] == pytest.approx([0.003, 0.0015, 0.001])
    assert {s.image_size for s in stages} == {64}
    assert [s.epochs for s in stage_schedule(5, 1, 0.002, 128)] == [5]


def test_parts_feed_the_products_curriculum_rows_and_class_order() -> None:
    rows = pd.DataFrame({"path": list("abcde"), "landmark": ["x", "y", NON_LANDMARK, "y", "z"]})
    framed = with_parts(rows, {"x": 2, "y": 1, "z": 2})
    assert stage_rows(framed, 1)["path"].tolist() == ["b", "c", "d"]
    assert class_order(stage_rows(framed, 2)) == [NON_LANDMARK, "y", "x", "z"]
    flat = with_parts(rows, None)  # one part: every landmark from the first stage
    assert stage_rows(flat, 1)["path"].tolist() == list("abcde")


def test_difficulty_parts_put_the_tightest_landmark_first() -> None:
    tight = np.array([[1.0, 0.0], [0.99, 0.141]])
    loose = np.array([[1.0, 0.0], [0.0, 1.0]])
    emb = np.vstack([loose, tight]).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array(["loose", "loose", "tight", "tight"], dtype=object)
    assert difficulty_parts(emb, labels, 2) == {"tight": 1, "loose": 2}
