"""The leave-landmarks-out fold protocol (research.folds) on synthetic names: no photos needed."""

from __future__ import annotations

import pandas as pd
import pytest

from landmark.data.manifest import NON_LANDMARK, SPLIT_QUERY, SPLIT_TRAIN, SPLIT_UNKNOWN
from research.folds import assign_folds, cap_train, chosen_folds, fold_world, split_sources

GROUPS = [[f"real_{i}" for i in range(10)], [f"more_{i}" for i in range(9)]]


def synthetic(per_landmark: int = 20, sources: int = 31, crops: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    lm = pd.DataFrame(
        [{"image_id": f"{n}-{k}", "path": f"/x/{n}/{k}.jpg", "landmark": n, "source": f"{n}:{k}"}
         for g in GROUPS for n in g for k in range(per_landmark)]
    )
    non = pd.DataFrame(
        [{"image_id": f"s{s}-{c}", "path": f"/n/{s}_{c}.png", "landmark": NON_LANDMARK, "source": f"src{s}",
          "family": "a" if s % 3 else "b"} for s in range(sources) for c in range(crops)]
    )
    return lm, non


def test_each_landmark_unknown_in_exactly_one_fold() -> None:
    fold_of = assign_folds(GROUPS, 5, seed=17)
    assert sorted(fold_of) == sorted(n for g in GROUPS for n in g)
    sizes = pd.Series(fold_of).value_counts()
    assert set(sizes.index) == set(range(5)) and sizes.max() - sizes.min() <= 1
    for group in GROUPS:  # every fold leaves out landmarks of both datasets
        assert len({fold_of[n] for n in group}) == 5
    lm, non = synthetic()
    seen: dict[str, int] = {}
    for fold in range(5):
        world = fold_world(lm, non, fold_of, fold, 0.3, (0.3, 0.35), seed=17)
        unknown = set(world.loc[world["split"] == SPLIT_UNKNOWN, "landmark"])
        assert unknown == {n for n, f in fold_of.items() if f == fold}
        for name in unknown:
            seen[name] = seen.get(name, 0) + 1
        known = world[(world["landmark"] != NON_LANDMARK) & ~world["landmark"].isin(unknown)]
        assert set(known["split"]) == {SPLIT_TRAIN, SPLIT_QUERY}
        assert world["image_id"].is_unique and len(world) == len(lm) + len(non)
    assert seen == {n: 1 for n in fold_of}
    assert assign_folds(GROUPS, 5, seed=17) == fold_of  # deterministic
    assert assign_folds(GROUPS, 5, seed=18) != fold_of


def test_no_non_landmark_source_in_two_splits() -> None:
    lm, non = synthetic()
    fold_of = assign_folds(GROUPS, 5, seed=17)
    for fold in range(5):
        world = fold_world(lm, non, fold_of, fold, 0.3, (0.3, 0.35), seed=17)
        nl = world[world["landmark"] == NON_LANDMARK]
        assert (nl.groupby("source")["split"].nunique() == 1).all()
        assert set(nl["split"]) == {"train", "calibration", "query"}
    splits = split_sources(pd.Series([f"s{i}" for i in range(20)] * 3), (0.3, 0.35), seed=1)
    assert pd.Series(splits[:20]).value_counts().to_dict() == {"train": 6, "calibration": 7, "query": 7}


def test_train_cap_keeps_a_subset_of_the_train_split() -> None:
    lm, non = synthetic(per_landmark=50)
    world = fold_world(lm, non, assign_folds(GROUPS, 5, seed=3), 0, 0.3, (0.3, 0.35), seed=3)
    capped = cap_train(world, 10, seed=3)
    kept = capped[(capped["split"] == SPLIT_TRAIN) & (capped["landmark"] != NON_LANDMARK)]
    assert kept.groupby("landmark").size().max() == 10
    was_train = world.loc[kept.index, "split"]
    assert (was_train == SPLIT_TRAIN).all()
    assert (capped.loc[capped["landmark"] == NON_LANDMARK, "split"]
            == world.loc[world["landmark"] == NON_LANDMARK, "split"]).all()


def test_bad_fold_count() -> None:
    with pytest.raises(ValueError, match="--folds"):
        assign_folds(GROUPS, 1, seed=0)


def test_only_folds_chooses_and_names_bad_folds() -> None:
    assert chosen_folds("", 5) == [0, 1, 2, 3, 4]
    assert chosen_folds("3,0", 5) == [3, 0]
    with pytest.raises(SystemExit, match=r"fold\(s\) \[5\] outside 0..4"):
        chosen_folds("1,5", 5)
    with pytest.raises(SystemExit, match="comma list of fold numbers, got 'a'"):
        chosen_folds("a", 5)
