from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK
from landmark.data.split import assign_splits, choose_unknown_landmarks, split_counts, stable_unit
from landmark.params import SplitParams

PARAMS = SplitParams(seed=3, query_fraction=0.3, unknown_landmarks=2, non_landmark_train=0.3,
                     non_landmark_calibration=0.2, calibration_landmarks=0)


def _manifest() -> pd.DataFrame:
    rows = [(f"{lm}-{i}", f"images/{lm}/{i}.jpg", lm) for lm in "abcdef" for i in range(10)]
    rows += [(f"n-{i}", f"images/n/{i}.jpg", NON_LANDMARK) for i in range(400)]
    return pd.DataFrame(rows, columns=["image_id", "path", "landmark"])


def test_stable_unit_is_deterministic_and_in_range() -> None:
    assert stable_unit(1, "x") == stable_unit(1, "x")
    assert stable_unit(1, "x") != stable_unit(2, "x")
    assert 0.0 <= stable_unit(5, "y") < 1.0


def test_unknown_landmarks_are_whole_landmarks_and_never_all() -> None:
    frame = assign_splits(_manifest(), PARAMS)
    unknown = choose_unknown_landmarks(list("abcdef"), 2, PARAMS.seed)
    assert len(unknown) == 2
    for name in unknown:
        assert set(frame.loc[frame.landmark == name, "split"]) == {"unknown"}
    assert choose_unknown_landmarks(["a"], 3, 1) == []  # one landmark is never all unknown


def test_known_landmarks_hold_out_about_query_fraction_and_keep_train() -> None:
    frame = assign_splits(_manifest(), PARAMS)
    known = frame[(frame.landmark != NON_LANDMARK) & (frame.split != "unknown")]
    for _, group in known.groupby("landmark"):
        assert (group.split == "query").sum() == 3  # round(0.3 * 10)
        assert (group.split == "train").sum() == 7


def test_non_landmark_shares_and_counts_add_up() -> None:
    frame = assign_splits(_manifest(), PARAMS)
    non = frame[frame.landmark == NON_LANDMARK]
    shares = non.split.value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.3, abs=0.07)
    assert shares["calibration"] == pytest.approx(0.2, abs=0.07)
    counts = split_counts(frame)
    per_split = [v for k, v in counts.items() if k.startswith(("landmark_", "non_")) and not k.startswith("landmarks_")]
    assert counts["rows"] == len(frame) == sum(per_split)
    assert counts["landmarks_unknown"] == 2 and counts["landmarks_known"] == 4


def test_split_is_stable_when_rows_are_added() -> None:
    base = assign_splits(_manifest(), PARAMS)
    extra = pd.DataFrame([("n-new", "images/n/new.jpg", NON_LANDMARK)], columns=["image_id", "path", "landmark"])
    grown = assign_splits(pd.concat([_manifest(), extra], ignore_index=True), PARAMS)
    assert grown.split.iloc[: len(base)].tolist() == base.split.tolist()


def test_bad_fractions_are_rejected() -> None:
    with pytest.raises(ValueError, match="query_fraction"):
        assign_splits(_manifest(), SplitParams(1, 1.0, 0, 0.3, 0.2, 0))


def test_calibration_landmarks_are_whole_landmarks_apart_from_the_unknown_ones() -> None:
    plain = assign_splits(_manifest(), PARAMS)
    params = dataclasses.replace(PARAMS, calibration_landmarks=2)
    frame = assign_splits(_manifest(), params)
    landmark_rows = frame.landmark != NON_LANDMARK
    calibrating = sorted(frame.loc[landmark_rows & (frame.split == "calibration"), "landmark"].unique())
    unknown = sorted(frame.loc[frame.split == "unknown", "landmark"].unique())
    assert len(calibrating) == 2 and not set(calibrating) & set(unknown)
    for name in calibrating:  # every photo of a calibration landmark, none held out as a query or trained
        assert set(frame.loc[frame.landmark == name, "split"]) == {"calibration"}
    # adding calibration landmarks does not change which landmarks are unknown, nor the non-landmarks
    assert unknown == sorted(plain.loc[plain.split == "unknown", "landmark"].unique())
    assert frame.loc[~landmark_rows, "split"].tolist() == plain.loc[~landmark_rows, "split"].tolist()
    counts = split_counts(frame)
    assert counts["landmarks_calibration"] == 2 and counts["landmark_calibration"] == 20
    assert counts["landmarks_known"] == 2 and counts["landmarks_unknown"] == 2


def test_at_least_one_landmark_stays_known() -> None:
    frame = assign_splits(_manifest(), dataclasses.replace(PARAMS, unknown_landmarks=2, calibration_landmarks=10))
    known = frame.loc[(frame.landmark != NON_LANDMARK) & frame.split.isin(["train", "query"]), "landmark"]
    assert known.nunique() == 1
    assert choose_unknown_landmarks(list("abc"), 5, 1, skip=2) == []  # 2 taken, the third stays known
    with pytest.raises(ValueError, match="calibration_landmarks"):
        assign_splits(_manifest(), dataclasses.replace(PARAMS, calibration_landmarks=-1))
