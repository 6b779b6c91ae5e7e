"""Removal precision / recall against the sample world's truth file."""

from __future__ import annotations

from pathlib import Path

from landmark.cleaning.scoring import truth_removal_scores


def test_truth_removal_scores(tmp_path: Path) -> None:
    truth = tmp_path / "noise_truth.csv"
    assert truth_removal_scores(["a"], ["a"], truth) == {}
    truth.write_text("image_id,filed_landmark,true_landmark\nb,x,y\nc,x,__non_landmark__\nd,x,x\n")
    scores = truth_removal_scores(["a", "b", "c", "d", "e"], ["a", "c", "d"], truth)  # removed b, e
    assert scores["truth_precision"] == 0.5 and scores["truth_recall"] == 0.5 and scores["truth_removed"] == 2
