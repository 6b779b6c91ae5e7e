from __future__ import annotations

from pathlib import Path

import pandas as pd

from landmark.data.manifest import NON_LANDMARK
from landmark.evaluation.verified import apply_verified_labels


def test_only_held_out_rows_are_corrected(tmp_path: Path) -> None:
    split = pd.DataFrame({
        "image_id": ["t", "q1", "q2", "u1", "ok"],
        "landmark": ["a", "a", "a", "z", "b"],
        "split": ["train", "query", "query", "unknown", "query"],
    })
    truth = tmp_path / "truth.csv"
    truth.write_text("image_id,filed_landmark,true_landmark\nt,a,b\nq1,a,b\n"
                     f"q2,a,{NON_LANDMARK}\nu1,z,a\n")
    out = apply_verified_labels(split, truth, known={"a", "b"})
    assert out.set_index("image_id")["landmark"].to_dict() == {
        "t": "a", "q1": "b", "q2": NON_LANDMARK, "u1": "a", "ok": "b"}  # train row untouched
    assert out.set_index("image_id").loc["u1", "split"] == "query"  # shows a known landmark
    assert split.loc[1, "landmark"] == "a"  # input not modified


def test_missing_file_changes_nothing(tmp_path: Path) -> None:
    split = pd.DataFrame({"image_id": ["q"], "landmark": ["a"], "split": ["query"]})
    assert apply_verified_labels(split, tmp_path / "none.csv", {"a"}) is split
