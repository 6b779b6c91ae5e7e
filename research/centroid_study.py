"""Why several centroids per landmark lose to one at low FPR, and what fixes it, on the leave-landmarks-out
folds (research.folds): `python -m research.centroid_study --work artifacts/folds --out
docs/real_results_centroids.md [--epochs N]`.

Every system is the product's own index (landmark.retrieval.build.build_index, calibrate_index,
CentroidIndex.search) on the same embeddings, with one mechanism switched at a time:

- `single`: one centroid (mean) per landmark, plain (the baseline); `views`: the shooting-angle
  centroids (params.index), plain: the product before this study; `views_min_share`: views of at
  least MIN_SHARE_PHOTOS photos (minimum cluster support);
- `views+mean`: each landmark's mean kept beside its views: the best row picks the landmark, the
  landmark's mean decides acceptance;
- `*+centringK`: each row scores its similarity minus its mean similarity to its K nearest database
  photos of other landmarks (K = 0: all of them; landmark.retrieval.centring), the threshold
  calibrated on that score; `single+centringK` is one centroid a landmark with it.

- `default`: params.index as it is (the product's default), compared with `single` per fold with a
  paired bootstrap interval of the sensitivity difference (research.paired_sensitivity).

`--train-size T --size S` evaluates research.test_resolution's saved network trained at T px,
embedding at S px, instead of research.folds' network (trained and embedded at the folds' size).

Diagnosis per fold: for the must-reject photos accepted by `views` at the collection's own FPR-1%
threshold, how many land on a minor view (under MINOR_SHARE of its landmark's photos), beside the
same for correctly accepted known photos.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time

import numpy as np
import pandas as pd

from landmark.evaluation.collection import truth_array
from landmark.evaluation.metrics import QueryResults, sensitivity_at_fpr, summarize
from landmark.params import IndexParams, Params
from landmark.retrieval.build import build_index, calibrate_index
from landmark.retrieval.index import CentroidIndex
from research.fold_study import fold_study, study_parser
from research.paired_sensitivity import paired_sensitivity

log = logging.getLogger("research.centroid_study")
METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1")
TOPS = (0, 5, 10, 20)  # impostor cohorts: all other-landmark photos, or the nearest 5 / 10 / 20
MIN_SHARE_PHOTOS = 20  # views_min_share: views of at least this many photos (about 20% of a landmark here)
MINOR_SHARE = 0.34  # a view under this share of its landmark's photos is a minor view
FPRS = {"sensitivity_at_fpr_1pct": 0.01, "sensitivity_at_fpr_0_1pct": 0.001}
BOOTSTRAP_SAMPLES = 1000


def systems(params: Params) -> dict[str, tuple[str, IndexParams]]:
    """System name -> (build_index variant, index params): the plain baselines, the index before this
    study, and each mechanism alone and together."""
    p = dataclasses.replace(params.index, landmark_mean=False, impostor_centring=False)
    one = dataclasses.replace(p, max_centroids_per_landmark=1)
    out = {"default": ("centroids", params.index), "single": ("single", p), "views": ("centroids", p),
           "views_min_share": ("centroids", dataclasses.replace(p, min_photos_per_centroid=MIN_SHARE_PHOTOS)),
           "views+mean": ("centroids", dataclasses.replace(p, landmark_mean=True))}
    for top in TOPS:
        out[f"single+centring{top}"] = ("centroids", dataclasses.replace(one, impostor_centring=True, impostor_top=top))
        out[f"views+centring{top}"] = ("centroids", dataclasses.replace(p, impostor_centring=True, impostor_top=top))
        out[f"views+mean+centring{top}"] = ("centroids", dataclasses.replace(
            p, landmark_mean=True, impostor_centring=True, impostor_top=top))
    return out


def evaluate_fold(emb: dict[str, np.ndarray], sets: dict[str, pd.DataFrame], params: Params
                  ) -> tuple[list[dict[str, object]], dict[str, float], dict[str, QueryResults]]:
    """Metric rows per system (the product's build_index, calibrate_index and search), the diagnosis
    of the plain views, and each system's answers."""
    db_labels = sets["database"]["landmark"].to_numpy(dtype=object)
    truth = truth_array(sets["collection"])
    roles = sets["collection"]["role"].to_numpy()
    rows, diag, answers = [], {}, {}
    for name, (variant, index_params) in systems(params).items():
        index = build_index(emb["database"], db_labels, index_params, variant)
        threshold = calibrate_index(index, emb["calibration"], index_params)
        scores, labels = index.search(emb["collection"], k=1)
        score = np.where(np.isfinite(scores[:, 0]), scores[:, 0], -1.0).astype(np.float64)
        results = QueryResults(truth, labels[:, 0], score, score)  # GAP ranks by the score itself
        m = summarize(results, threshold.value, params.index.fprs)
        for role in ("non_landmark", "unknown"):
            m[f"fpr_{role}"] = float((score >= threshold.value)[roles == role].mean())
        m["n_rows"] = float(index.index.ntotal)
        rows.append({"system": name, **m})
        answers[name] = results
        if name == "views":
            diag = _diagnose(index, emb["collection"], results)
    return rows, diag, answers


def against_single(answers: dict[str, QueryResults], seed: int) -> dict[str, float]:
    """The default's sensitivity minus single's at each FPR, with its 95% paired bootstrap interval."""
    out: dict[str, float] = {}
    for key, fpr in FPRS.items():
        d = paired_sensitivity(answers["default"], answers["single"], fpr, BOOTSTRAP_SAMPLES, seed=seed)
        out |= {f"{key} difference": d.delta, f"{key} low": d.low, f"{key} high": d.high}
    return out


def _diagnose(index: CentroidIndex, queries: np.ndarray, results: QueryResults) -> dict[str, float]:
    """Where the false accepts at the collection's own FPR-1% threshold land: on a minor view (a
    cluster under MINOR_SHARE of its landmark's photos) or not, for false vs correct accepts."""
    _, t = sensitivity_at_fpr(results, 0.01)
    _, ids = index.index.search(np.ascontiguousarray(queries, dtype=np.float32), 1)
    totals = pd.Series(index.sizes).groupby(index.labels).transform("sum").to_numpy()
    minor = (index.sizes / totals) < MINOR_SHARE
    accepted = results.similarity >= t
    fa, ca = accepted & ~results.positive, accepted & results.correct
    on_minor = minor[ids[:, 0]]
    return {"false accepts": float(fa.sum()), "of them on minor views": float((fa & on_minor).sum()),
            "correct accepts": float(ca.sum()), "of them on minor views ": float((ca & on_minor).sum()),
            "minor views / all views": float(minor.mean())}


def _table(frame: pd.DataFrame, keys: tuple[str, ...]) -> str:
    lines = ["| model | system | " + " | ".join(keys) + " |", "| --- | --- |" + " --- |" * len(keys)]
    for (model, system), g in frame.groupby(["model", "system"], sort=False):
        lines.append(f"| {model} | {system} | "
                     + " | ".join(f"{g[k].mean():.3f} ± {g[k].std(ddof=1):.3f}" for k in keys) + " |")
    return "\n".join(lines)


def _wins(frame: pd.DataFrame, system: str) -> str:
    """Per model: folds where `system` >= single at FPR 1% and 0.1%."""
    out = []
    for model, g in frame.groupby("model", sort=False):
        a = g[g["system"] == system].set_index("fold")
        b = g[g["system"] == "single"].set_index("fold")
        for k in ("sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct"):
            ok = (a[k] >= b[k] - 1e-12)
            out.append(f"- {model} / {system} vs single, {k}: at least as good on {int(ok.sum())} of "
                       f"{len(ok)} folds (per fold difference: "
                       + ", ".join(f"{d:+.3f}" for d in (a[k] - b[k]).to_numpy()) + ")")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    import torch

    from research import evaluate_real as ev
    from research import folds as fl
    from research.test_resolution import add_network_arguments, label, saved_embeddings

    ap = study_parser(__doc__.split("\n")[0], "docs/real_results_centroids.md", epochs=0, training=True)
    add_network_arguments(ap, None, None)  # both or neither; neither: research.folds' network
    args = ap.parse_args(argv)
    if (args.train_size is None) != (args.size is None):
        ap.error("--train-size and --size go together")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    fa, params, frozen = study.options, study.params, study.frozen
    rows, diags, paired = [], [], []
    for fold in range(fa.folds):
        world = study.world(fold)
        sets = study.sets(world)
        models = {"frozen": study.frozen_sets(sets)}
        saved = args.work / f"trained_fold{fold}_{args.variant}_{args.epochs}ep.npz"
        if args.size is not None:  # a network of research.test_resolution
            models[label(args.train_size, args.size)] = saved_embeddings(args, fa.image_size, fold)
        elif args.epochs > 0 and saved.is_file():  # trained before: reuse its embeddings
            with np.load(saved) as z:
                models[args.variant] = {k: z[k] for k in z.files}
        elif args.epochs > 0:
            from research.train_real import VARIANTS, difficulty_parts, train_rows, train_variant

            train_world = fl.cap_train(world, args.train_cap, args.seed)
            lm = train_rows(train_world, non_landmark=False)
            parts = difficulty_parts(np.stack([frozen[p] for p in lm["path"]]),
                                     lm["landmark"].to_numpy(dtype=object), args.parts)
            model, _ = train_variant(VARIANTS[args.variant], train_world, params, parts, args.epochs, args.lr, "cpu")
            models[args.variant] = ev.embed_world(model.cpu(), sets, params)
            np.savez(saved, **models[args.variant])  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
        for model_name, emb in models.items():
            fold_rows, diag, answers = evaluate_fold(emb, sets, params)
            rows += [{"fold": fold, "model": model_name, **r} for r in fold_rows]
            diags.append({"fold": fold, "model": model_name, **diag})
            paired.append({"fold": fold, "model": model_name, **against_single(answers, args.seed + fold)})
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
        pd.DataFrame(rows).to_csv(args.work / "centroid_metrics.csv", index=False)
    frame, diag_frame = pd.DataFrame(rows), pd.DataFrame(diags)
    keys = METRICS + ("fpr_non_landmark", "fpr_unknown", "n_rows")
    command = "python -m research.centroid_study " + " ".join(sys.argv[1:] if argv is None else argv)
    text = f"""# Centroids that help: several views per landmark vs one (generated by research.centroid_study)

Command: `{command}` ({(time.perf_counter() - began) / 60:.1f} min on this machine). Folds, collection and
photos: exactly those of research.folds (docs/real_results_folds.md). Systems: see the module docstring;
`views` is the product's index before this study (params.index: distance {params.index.centroid_distance},
at most {params.index.max_centroids_per_landmark}, at least {params.index.min_photos_per_centroid} photos),
`views_min_share` keeps views of at least {MIN_SHARE_PHOTOS} photos.

## Mean ± std over folds

{_table(frame, keys)}

## Against the one-centroid baseline, fold by fold

{chr(10).join(_wins(frame, s) for s in frame['system'].unique() if s != 'single')}

## Is a per-fold difference real? The default against one centroid, with 95% intervals

`default` minus `single` in sensitivity, per fold, with the {BOOTSTRAP_SAMPLES}-resample paired
bootstrap interval (research.paired_sensitivity: known queries and must-reject photos resampled
separately, thresholds set again on each resample). An interval that holds 0 is a difference the fold
cannot tell from chance.

{pd.DataFrame(paired).to_markdown(index=False, floatfmt='+.3f')}

## Where the plain views' false accepts land (collection's own FPR-1% threshold; minor view = under 34% of its landmark)

{diag_frame.to_markdown(index=False, floatfmt='.2f')}

## Per fold

{frame[['fold', 'model', 'system', *keys]].to_markdown(index=False, floatfmt='.3f')}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
