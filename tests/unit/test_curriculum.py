"""Curriculum rows and class order from the cleaned manifest."""

from __future__ import annotations

import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK
from landmark.training.curriculum import CurriculumError, class_order, num_parts, stage_rows


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_id": list("abcdefgh"),
            "path": [f"{x}.png" for x in "abcdefgh"],
            "landmark": ["z", "z", "y", "x", "x", NON_LANDMARK, NON_LANDMARK, "w"],
            "split": ["train", "train", "train", "train", "query", "train", "calibration", "train"],
            "part": ["1", "1", "2", "1", "1", "", "", "3"],
        }
    )


def test_stage_k_takes_parts_up_to_k_and_train_non_landmarks() -> None:
    assert stage_rows(_frame(), 1)["image_id"].tolist() == ["a", "b", "d", "f"]
    assert stage_rows(_frame(), 2)["image_id"].tolist() == ["a", "b", "c", "d", "f"]
    assert stage_rows(_frame(), 1, curriculum=False)["image_id"].tolist() == ["a", "b", "c", "d", "f", "h"]


def test_class_order_extends_stage_by_stage() -> None:
    one, two = class_order(stage_rows(_frame(), 1)), class_order(stage_rows(_frame(), 2))
    assert one == [NON_LANDMARK, "x", "z"]
    assert two == [NON_LANDMARK, "x", "z", "y"]
    assert class_order(stage_rows(_frame(), 3)) == [*two, "w"]
    assert num_parts(_frame()) == 3


def test_landmark_without_part_is_an_error() -> None:
    frame = _frame()
    frame.loc[0, "part"] = ""
    with pytest.raises(CurriculumError, match="image_id a"):
        stage_rows(frame, 1)
    with pytest.raises(CurriculumError, match="part"):
        stage_rows(frame.drop(columns="part"), 1)
