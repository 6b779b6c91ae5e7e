"""What the studies on research.folds' folds share: the same photos, folds, parameters and frozen
embeddings as `python -m research.folds`, set up once, and each fold's evaluation sets."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.params import Params, load_params, with_overrides

EVALUATED = ("database", "calibration", "collection")  # the sets the evaluations read


@dataclass(frozen=True)
class FoldStudy:
    """research.folds' defaults (`options`), the parameters it evaluates with, the landmark and
    non-landmark photos, the fold of each landmark and every photo's frozen embedding (by path)."""

    options: argparse.Namespace
    params: Params
    landmarks: pd.DataFrame
    non: pd.DataFrame
    fold_of: dict[str, int]
    frozen: dict[str, np.ndarray]

    def world(self, fold: int) -> pd.DataFrame:
        """The split manifest of `fold` with the database cap applied (as research.folds.run_fold)."""
        from research import folds as fl

        o = self.options
        world = fl.fold_world(self.landmarks, self.non, self.fold_of, fold, o.query_share, tuple(o.nl_shares), o.seed)
        return fl.cap_train(world, o.db_cap, o.seed, rest="unused")

    def sets(self, world: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """database, calibration, collection, negatives of a fold's world (research.evaluate_real)."""
        from research import evaluate_real as ev

        return ev.world_sets(world, self.params)

    def frozen_sets(self, sets: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
        """The frozen embeddings of the EVALUATED sets."""
        return {k: np.stack([self.frozen[p] for p in sets[k]["path"]]) for k in EVALUATED}


def study_parser(description: str, out: str, epochs: int = 6, training: bool = False) -> argparse.ArgumentParser:
    """The arguments every fold study takes: --work, --cache, --out (default `out`), --folds,
    --only-folds (research.folds.chosen_folds), --seed,
    the trained network's --epochs and --variant, and with `training` how to train it (--parts, --lr,
    --train-cap, --threads; research.folds' recipe)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--work", type=Path, default=Path("artifacts/folds"))
    ap.add_argument("--cache", type=Path, default=Path(".landmark/cache/nonlandmarks"))
    ap.add_argument("--out", type=Path, default=Path(out))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", default="", help="comma list of folds to run (default all)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--epochs", type=int, default=epochs, help="the trained network's epochs (0: frozen only)")
    ap.add_argument("--variant", default="softmax_centre", help="research.train_real variant")
    if training:
        ap.add_argument("--parts", type=int, default=3, help="curriculum stages")
        ap.add_argument("--lr", type=float, default=0.002)
        ap.add_argument("--train-cap", type=int, default=60, help="trained photos per landmark")
        ap.add_argument("--threads", type=int, default=2, help="torch threads")
    return ap


def fold_study(work: Path, cache: Path, folds: int, seed: int) -> FoldStudy:
    """Read the photos, make the non-landmark crops and embed everything with the frozen backbone (all
    cached under `work` / `cache`, as research.folds does)."""
    from research import folds as fl

    options = fl.parse(["--work", str(work), "--cache", str(cache), "--folds", str(folds), "--seed", str(seed)])
    params = with_overrides(load_params(), "backbone", image_size=options.image_size)
    params = with_overrides(params, "embed", cache_dir=str(work / "cache" / "embeddings"))
    params = with_overrides(params, "train", num_workers=1, seed=seed)
    landmarks, groups = fl.read_landmarks(options.data)
    fold_of = fl.assign_folds(groups, options.folds, options.seed)
    non, _ = fl.non_landmarks(options.cache, options.work, options.per_wallpaper, options.per_skimage, options.seed,
                              options.image_size)
    frozen = fl.frozen_embeddings(pd.concat([landmarks, non], ignore_index=True), params)
    return FoldStudy(options, params, landmarks, non, fold_of, frozen)
