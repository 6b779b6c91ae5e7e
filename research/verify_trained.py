"""Geometric verification on top of the product's default recognizer (the trained network, the
default index with impostor centring) on the leave-landmarks-out folds: `python -m
research.verify_trained --work artifacts/folds --out docs/real_results_verification_trained.md
[--size 128]`.

docs/real_results_verification.md measured verification on the frozen backbone with the plain
several-centroid index, before the index changes of research.centroid_study. This measures it where
the product now is: the trained network's saved embeddings (research.test_resolution /
research.centroid_study write them under --work; run one of those first), params.index as it is
(views, landmark mean, impostor centring) and params.index.verification's settings, through the
product's own verified search (research.verify_real.evaluate_verification). With --sweep, also
research.verify_real's grid, matched once per fold (the grid is chosen on these folds: optimistic).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from research.fold_study import EVALUATED, fold_study

log = logging.getLogger("research.verify_trained")
METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1")
COST = ("ms_per_query", "verified_share", "pairs_per_query")


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    from research import evaluate_real as ev
    from research.test_resolution import embeddings_file, label
    from research.verify_real import Cache, evaluate_verification, sweep, write_sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("artifacts/folds"))
    ap.add_argument("--cache", type=Path, default=Path(".landmark/cache/nonlandmarks"))
    ap.add_argument("--out", type=Path, default=Path("docs/real_results_verification_trained.md"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--train-size", type=int, default=128, help="training size of the network (px)")
    ap.add_argument("--size", type=int, default=128, help="test size of the saved trained embeddings (px)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--variant", default="softmax_centre")
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    params, vparams = study.params, study.params.index.verification
    rows: list[dict[str, object]] = []
    sweeps: list[pd.DataFrame] = []
    cache: Cache = {}  # local features, shared by the folds
    for fold in range(args.folds):
        saved = embeddings_file(args.work, fold, args.variant, args.epochs, args.train_size, args.size,
                                study.options.image_size)
        if not saved.is_file():
            raise SystemExit(f"{saved}: no saved trained embeddings; run research.test_resolution first")
        sets = study.sets(study.world(fold))
        with np.load(saved) as z:
            emb = {k: z[k] for k in EVALUATED}
        for system, e in ev.evaluate_model(emb, sets, params).items():
            rows.append({"fold": fold, "system": system, **e.metrics})
        t0 = time.perf_counter()
        rows.append({"fold": fold, "system": "recognizer+verification",
                     **evaluate_verification(emb, sets, params, vparams, cache)})
        log.info("fold %d verified in %.0f s", fold, time.perf_counter() - t0)
        if args.sweep:
            sweeps.append(sweep(emb, sets, params, vparams, cache).assign(model="trained", fold=fold))
        pd.DataFrame(rows).to_csv(args.work / "verification_trained_metrics.csv", index=False)
    frame = pd.DataFrame(rows)
    g = frame.groupby("system", sort=False)
    mean, std = g[list(METRICS)].mean(), g[list(METRICS)].std(ddof=1)
    summary = ["| system | " + " | ".join(METRICS) + " |", "| --- |" + " --- |" * len(METRICS)]
    summary += [f"| {s} | " + " | ".join(f"{mean.loc[s, m]:.3f} ± {std.loc[s, m]:.3f}" for m in METRICS) + " |"
                for s in mean.index]
    plain = frame[frame["system"] == "recognizer"].set_index("fold")
    verified = frame[frame["system"] == "recognizer+verification"].set_index("fold")
    per_fold = [f"- {m}: " + ", ".join(f"{d:+.3f}" for d in (verified[m] - plain[m]).to_numpy())
                + f" (>= on {int(((verified[m] - plain[m]) >= 0).sum())}/{len(plain)} folds)" for m in METRICS]
    cost = verified[list(COST)].mean()
    sweep_text = ""
    if sweeps:
        best = write_sweep(sweeps, args.work / "verification_trained_sweep.csv").head(8)
        sweep_text = ("\n## Grid (mean over folds, best sensitivity at FPR 1% first; chosen on these folds)\n\n"
                      + best.drop(columns=["model"]).to_markdown(index=False, floatfmt=".3f") + "\n")
    command = "python -m research.verify_trained " + " ".join(sys.argv[1:] if argv is None else argv)
    text = f"""# Geometric verification on the default recognizer (generated by research.verify_trained)

Command: `{command}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). Folds,
photos and collection: research.folds'. Embeddings: the trained network ({args.variant}, {args.epochs}
epochs, `{label(args.train_size, args.size)}`: trained at {args.train_size} px, embedding at {args.size} px),
saved by research.test_resolution. `recognizer`: params.index as it is
(landmark mean {params.index.landmark_mean}, impostor centring {params.index.impostor_centring}, nearest
{params.index.impostor_top}); `recognizer+verification`: the same with params.index.verification's
settings ({vparams.features}, top {vparams.top_landmarks} landmarks x {vparams.verify_per_landmark} photos,
min inliers {vparams.min_inliers}, cap {vparams.cap}, weight {vparams.weight}, re-rank {vparams.rerank});
the threshold of each is calibrated on the calibration photos with its own score.

## Mean ± std over folds

{chr(10).join(summary)}

## Verification minus plain, fold by fold

{chr(10).join(per_fold)}

Cost (mean over folds): {cost['ms_per_query']:.0f} ms a query photo (local features + matching, one thread),
{cost['verified_share']:.2f} of the query photos verified, {cost['pairs_per_query']:.1f} matched pairs a photo.
{sweep_text}
## Per fold

{frame[['fold', 'system', *METRICS, 'fpr_non_landmark', 'fpr_unknown']].to_markdown(index=False, floatfmt='.3f')}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
