"""Calibrating the threshold on the database's own landmarks left out one at a time: `python -m
research.loo_calibration --work artifacts/folds --out docs/real_results_loo_calibration.md`.

At the calibrated threshold the default lets 20% of the folds' unknown-landmark photos through
(docs/real_results_wider_rejects.md): the threshold is set on non-landmark crops only, while the photos
that pass are unseen landmarks of the same kind as a known one. Leave-one-landmark-out scores stand in
for them without new photos: for each known landmark L, the index built without L (params.index, the
product's default) scores L's database photos; those are photos of a landmark the index does not hold.
Thresholds for params.index.target_fpr: `non-landmarks` (on the calibration photos alone),
`left-out landmarks` (on the leave-one-out scores, every known landmark left out:
landmark.retrieval.left_out), `max` of both (what the index stage stores since session 11 with
index.left_out_landmarks > 0), and `pooled` (one quantile over both score sets). Caveat: the network
trained on L, so L's photos sit further from the other landmarks than an unseen landmark's would; the
leave-one-out scores understate the real ones.

Each threshold is applied to research.wider_rejects' collection (the fold's queries + gcompris-qt-data's
monuments and everyday photos), with research.test_resolution's saved train224@224 embeddings: the share
of each must-reject group that passes, and of the known queries answered correctly and accepted.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
import pandas as pd

from landmark.retrieval.build import build_index, calibrate_index, top1_similarity
from landmark.retrieval.left_out import left_out_scores
from landmark.retrieval.threshold import threshold_for_fpr
from research.fold_study import fold_study, study_parser

log = logging.getLogger("research.loo_calibration")


def thresholds(non_landmark: float, left_out: np.ndarray, calibration: np.ndarray, fpr: float) -> dict[str, float]:
    """The candidate thresholds (module docstring) from the product's, the leave-one-out scores and the
    calibration photos' scores."""
    loo = threshold_for_fpr(left_out, fpr)
    return {"non-landmarks": non_landmark, "left-out landmarks": loo, "max": max(non_landmark, loo),
            "pooled": threshold_for_fpr(np.concatenate([left_out, calibration]), fpr)}


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    from research import folds as fl
    from research.gcompris_photos import PACKAGE, gcompris_photos
    from research.test_resolution import add_network_arguments, label, saved_embeddings
    from research.wider_rejects import GROUPS, added_rows, widened

    ap = study_parser(__doc__.split("\n")[0], "docs/real_results_loo_calibration.md")
    add_network_arguments(ap, 224, 224)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    began = time.perf_counter()
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    params = study.params
    extra = gcompris_photos(fl.fetch_package(PACKAGE, args.cache).root, args.work / "gcompris")
    rows = []
    for fold in fl.chosen_folds(args.only_folds, args.folds):
        sets = study.sets(study.world(fold))
        emb = saved_embeddings(args, study.options.image_size, fold)
        saved = args.work / f"gcompris_fold{fold}_{label(args.train_size, args.size)}.npz"
        if not saved.is_file():
            raise SystemExit(f"{saved}: no embeddings of the gcompris photos; run research.wider_rejects first")
        kept = dict(np.load(saved))
        if kept["image_id"].tolist() != extra["image_id"].tolist():
            raise SystemExit(f"{saved}: made for other gcompris photos; rerun research.wider_rejects")
        wide, wide_emb = widened(sets, emb, added_rows(extra), kept["embeddings"])
        labels = sets["database"]["landmark"].to_numpy(dtype=object)
        index = build_index(emb["database"], labels, params.index, "centroids")
        product = calibrate_index(index, emb["calibration"], params.index).value
        loo = left_out_scores(emb["database"], labels, params.index)
        scores, names = index.search(wide_emb["collection"], k=1)
        score = np.where(np.isfinite(scores[:, 0]), scores[:, 0], -1.0)
        collection = wide["collection"]
        known = (collection["group"] == "fold known").to_numpy()
        correct = known & (names[:, 0] == collection["landmark"].to_numpy(dtype=object))
        for name, value in thresholds(product, loo, top1_similarity(index, emb["calibration"]),
                                      params.index.target_fpr).items():
            passed = score >= value
            rows.append({"fold": fold, "threshold from": name, "threshold": value,
                         "known answered": float((correct & passed)[known].mean()),
                         **{f"{g} passed": float(passed[(collection["group"] == g).to_numpy()].mean())
                            for g in GROUPS},
                         "left-out photos": len(loo)})
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    frame = pd.DataFrame(rows)
    means = frame.groupby("threshold from", sort=False).mean(numeric_only=True).drop(columns="fold").reset_index()
    command = "python -m research.loo_calibration " + " ".join(sys.argv[1:] if argv is None else argv)
    text = f"""# Calibrating on the database's own landmarks, left out one at a time
(generated by research.loo_calibration)

Command: `{command.strip()}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). What and why:
the module docstring. Target FPR {params.index.target_fpr}; network {label(args.train_size, args.size)};
collection: research.wider_rejects' (the fold's queries, and Debian `{PACKAGE}`'s monuments and everyday
photos as must-reject queries).

## Mean over folds

{means.to_markdown(index=False, floatfmt=".3f")}

## Per fold

{frame.to_markdown(index=False, floatfmt=".3f")}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
