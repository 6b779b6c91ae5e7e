"""What the fold networks train on and start from, against research.test_resolution's network, on the
leave-landmarks-out folds: `python -m research.train_alternatives --work artifacts/folds
--out docs/real_results_train_alternatives.md [--alternatives sample_classes lite1]`.

Issue 14 item 3: use every landmark we have and the strongest starting point. Each alternative trains the
fold's network with research.test_resolution's recipe (variant, epochs, curriculum parts from lite0's
frozen features, cap of trained photos a real landmark, seed) and changes one thing:

- `sample_classes`: the generated sample world's landmarks as extra classes of their own (`sample_<name>`),
  training only: never in the database, the calibration or the collection. The sample photos are those
  filed under their true landmark (data/noise_truth.csv's mislabelled photos left out: the best case for
  the idea, cleaner than what the cleaning stage keeps). Same epochs, so the extra rows also mean more
  steps; the page says how many photos each network trained on.
- `lite1` / `lite2`: timm tf_efficientnet_lite1 / lite2 from the registry packages' ImageNet weights
  instead of lite0 (frozen, they were no better: docs/real_results_backbones.md; this trains them).

Every network is embedded at --sizes and evaluated with the product's default index (params.index) and
its baselines; per fold, the recognizer's sensitivity difference against lite0 on the known landmarks
alone, at each FPR, comes with its paired bootstrap interval (research.paired_sensitivity).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from landmark.data.manifest import NON_LANDMARK, SPLIT_TRAIN
from landmark.params import Params, with_overrides
from research.fold_study import fold_study, study_parser

log = logging.getLogger("research.train_alternatives")
PREFIX = "sample_"
BASE = "lite0, known only"
FPRS = {"FPR 1%": 0.01, "FPR 0.1%": 0.001}


@dataclass(frozen=True)
class Alternative:
    """One change to the fold network's training. `tag` names its saved network and embeddings."""

    label: str
    tag: str
    sample_classes: bool = False
    backbone: str | None = None  # a research.backbones.BACKBONES key; None = params' (lite0)


ALTERNATIVES: dict[str, Alternative] = {
    "sample_classes": Alternative("lite0, + sample classes", "_extra-sample", sample_classes=True),
    "lite1": Alternative("lite1, known only", "_lite1", backbone="lite1"),
    "lite2": Alternative("lite2, known only", "_lite2", backbone="lite2"),
}


def sample_training_rows(data: Path) -> pd.DataFrame:
    """The sample world's landmark photos filed under their true landmark, as training-only rows
    (image_id, absolute path, landmark `sample_<name>`, split train, source `sample`). Photos that
    data/noise_truth.csv lists as mislabelled are left out."""
    manifest, truth = data / "manifest.csv", data / "noise_truth.csv"
    for path in (manifest, truth):
        if not path.is_file():
            raise SystemExit(f"{path}: missing; generate the sample world first (`python -m samples`)")
    rows = pd.read_csv(manifest, dtype={"image_id": str})
    wrong = set(pd.read_csv(truth, dtype={"image_id": str})["image_id"])
    keep = rows[(rows["landmark"] != NON_LANDMARK) & ~rows["image_id"].isin(wrong)]
    return pd.DataFrame({
        "image_id": "sample-" + keep["image_id"],
        "path": [str((data / p).resolve()) for p in keep["path"]],
        "landmark": PREFIX + keep["landmark"],
        "split": SPLIT_TRAIN,
        "source": "sample",
    }).reset_index(drop=True)


def alternative_params(params: Params, alternative: Alternative) -> Params:
    """`params` with the alternative's backbone (name and registry weights package)."""
    if alternative.backbone is None:
        return params
    from research.backbones import BACKBONES

    name, weights = BACKBONES[alternative.backbone]
    return with_overrides(params, "backbone", name=name, weights=weights)


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = study_parser(__doc__.split("\n")[0], "docs/real_results_train_alternatives.md", training=True)
    ap.add_argument("--alternatives", nargs="*", default=["sample_classes"], choices=sorted(ALTERNATIVES),
                    help="none: the base network alone (e.g. with --train-seed, for the seed's noise)")
    ap.add_argument("--sample-data", type=Path, default=Path("data"),
                    help="the sample world (manifest.csv, noise_truth.csv, images/) for sample_classes")
    ap.add_argument("--train-size", type=int, default=128, help="training size (px) of every network")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 224], help="test sizes (px)")
    ap.add_argument("--train-seed", type=int, default=None,
                    help="train.seed of every network, base included (default --seed: the saved networks); "
                         "the folds, caps and curriculum parts keep --seed, so only initialisation and batches change")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    import torch

    from research import evaluate_real as ev
    from research import folds as fl
    from research.paired_sensitivity import paired_sensitivity
    from research.test_resolution import (
        LazyNetwork,
        embeddings_file,
        label,
        remembered,
        saved_or_embedded,
        trained_model,
    )

    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    params, default = study.params, study.options.image_size
    seeded = "" if args.train_seed in (None, args.seed) else f"_tseed{args.train_seed}"
    if seeded:
        params = with_overrides(params, "train", seed=args.train_seed)
    chosen = [ALTERNATIVES[a] for a in args.alternatives]
    extra = sample_training_rows(args.sample_data) if any(a.sample_classes for a in chosen) else None
    frozen = dict(study.frozen)
    if extra is not None:  # curriculum parts of the extra classes, from the same frozen features
        frozen |= fl.frozen_embeddings(extra, params)
    only = fl.chosen_folds(args.only_folds, args.folds)
    networks = [(Alternative(BASE, ""), None), *((a, extra if a.sample_classes else None) for a in chosen)]
    rows, diffs, trained_rows = [], [], {}
    seconds: dict[str, float] = {}
    for fold in only:
        world = study.world(fold)
        sets = study.sets(world)
        capped = fl.cap_train(world, args.train_cap, args.seed)
        known = int(((capped["split"] == SPLIT_TRAIN) & (capped["landmark"] != NON_LANDMARK)).sum())
        for alternative, more in networks:
            trained_rows[(fold, alternative.label)] = known + (0 if more is None else len(more))
            at = alternative_params(params, alternative)
            tag = alternative.tag + seeded
            built = f"fold {fold} {alternative.label}{seeded} train{args.train_size} (train or load)"
            network = LazyNetwork(partial(trained_model, args, world, at, frozen, fold, args.train_size, more, tag),
                                  seconds, built)
            for size in args.sizes:
                saved = embeddings_file(args.work, fold, args.variant, args.epochs, args.train_size, size, default,
                                        tag)
                emb = saved_or_embedded(saved, network, sets, at, size, seconds,
                                        f"fold {fold} embed {alternative.label}{seeded} {label(args.train_size, size)}")
                for system, e in ev.evaluate_model(emb, sets, params).items():
                    rows.append({"fold": fold, "size": size, "training": alternative.label, "system": system,
                                 "results": e.results, **e.metrics})
        for size in args.sizes:
            pick = {r["training"]: r["results"] for r in rows
                    if r["fold"] == fold and r["size"] == size and r["system"] == "recognizer"}
            for alternative in chosen:
                for key, fpr in FPRS.items():
                    d = paired_sensitivity(pick[alternative.label], pick[BASE], fpr, seed=args.seed)
                    diffs.append({"training": alternative.label, "size": size, "fold": fold, "fpr": key,
                                  "difference": d.delta, "low": d.low, "high": d.high})
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    frame = pd.DataFrame(rows).drop(columns="results")
    frame.to_csv(args.work / "train_alternatives_metrics.csv", index=False)
    seconds, _ = remembered(args.work / "train_alternatives_runs.json", seconds, {})
    command = "python -m research.train_alternatives " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(document(args, command, frame, pd.DataFrame(diffs), trained_rows, extra, seconds,
                                 time.perf_counter() - began))
    log.info("wrote %s", args.out)


def document(args: argparse.Namespace, command: str, frame: pd.DataFrame, diffs: pd.DataFrame,
             trained_rows: dict[tuple[int, str], int], extra: pd.DataFrame | None, seconds: dict[str, float],
             took: float) -> str:
    """The page: mean ± std over folds, the per-fold paired differences, the photos trained on, timings."""
    from research.test_resolution import mean_std_table

    rows_text = "\n".join(f"- fold {f}, {name}: {n} landmark photos" for (f, name), n in trained_rows.items())
    sample = ("" if extra is None else f" The sample classes: {extra['landmark'].nunique()} generated landmarks, "
              f"{len(extra)} photos filed under their true landmark.")
    timing = "\n".join(f"- {k}: {v:.0f} s" for k, v in seconds.items()) or "- nothing computed (all reused)"
    train_seed = args.seed if args.train_seed is None else args.train_seed
    return f"""# What the fold networks train on and start from (generated by research.train_alternatives)

Command: `{command}` ({took / 60:.1f} min on this 2-core machine; networks and embeddings computed earlier are
reused, see Time). Folds, photos and collection: research.folds' (docs/real_results_folds.md). Every network:
research.test_resolution's recipe ({args.variant}, {args.epochs} epochs in {args.parts} curriculum stages, lr
{args.lr}, at most {args.train_cap} trained photos a real landmark, non-landmark photos as class 0) trained at
{args.train_size} px, train.seed {train_seed}; `{BASE}` is research.test_resolution's saved network when that is
--seed ({args.seed}). Each alternative changes one thing
(module docstring).{sample} Evaluation: the product's default index (params.index) and its baselines on each
network's embeddings at each test size; must-reject = unknown landmarks + real non-landmarks.

Landmark photos each network trained on:

{rows_text}

## Mean ± std over folds

{mean_std_table(frame, ["size", "system", "training"])}

## Recognizer: alternative minus `{BASE}`, per fold, sensitivity (95% paired bootstrap interval)

{diffs.sort_values(["training", "size", "fold", "fpr"]).to_markdown(index=False, floatfmt='+.3f')
 if len(diffs) else "No alternative was chosen: the base network alone."}

## Time (when each network and embedding was computed; a rerun reuses them)

{timing}

## Per fold

{frame.to_markdown(index=False, floatfmt='.3f')}
"""


if __name__ == "__main__":
    main()
