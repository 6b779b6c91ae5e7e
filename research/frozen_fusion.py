"""Does the frozen ImageNet network's view of a photo help reject landmarks the trained one never saw?
`python -m research.frozen_fusion --work artifacts/folds --out docs/real_results_frozen_fusion.md`.

The trained network maps photos of unseen buildings onto the known landmark they look most like
(docs/real_results_hardest.md: the Pantheon on the Ho Chi Minh mausoleum, Sapa on Haleakala); it was
trained to pull each known landmark's photos together, not to keep unknown ones apart. The frozen
backbone was never taught these landmarks, so it has no reason to pull an unseen building towards
one. Session 3 saw on the old 10-landmark world that adding the frozen network's similarity to the
predicted landmark raised GAP 0.81 -> 0.87 (docs/real_results.md). This asks the same on the folds,
for the product's default (train224@224 embeddings of research.test_resolution, params.index):

- the trained recognizer picks the landmark and its acceptance score s (params.index as it is);
- the frozen score f of the query for THAT landmark: `frozen_knn3` = landmark.retrieval.frozen_view
  (mean cosine of the 3 most similar of its database photos, plain GeM features, no whitening), or
  `frozen_index` = the score the product's index (params.index: whitening, several centroids, landmark
  mean, impostor centring) built on the frozen features gives that landmark;
- the fused acceptance score s + w f, for each w of --weights; the threshold is calibrated with it;
- one descriptor instead of two scores: `concatenated` = [sqrt(1 - beta) trained, sqrt(beta) frozen]
  (cosine = (1 - beta) trained cosine + beta frozen cosine) through the product's index as it is
  (weight column = beta; here the answer can change too);
- a control without the frozen view: `trained_knn3`, the same kNN score on the trained embeddings.

Then, for the frozen view at 224 px: the second training seed's networks (research.test_resolution's
`_tseed18` embeddings), k of the kNN, and the operating point against research.wider_rejects' 193
must-reject photos from outside the folds (GCompris monuments and everyday photos).

The answer (the landmark) never changes with s + w f, only the score, so accuracy@1 is the
recognizer's. The frozen features are research.folds' (lite0, GeM, 128 px, cached) and the same network
at 224 px (embedded once, cached). Cost in the product: with params.train.trainable_blocks the layers
before the trained blocks are the frozen network's, so one pass can run them once and both tails
after them; the frozen tail's share is timed here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time

import numpy as np
import pandas as pd

from landmark.evaluation.collection import truth_array
from landmark.evaluation.metrics import QueryResults, summarize
from landmark.params import BackboneParams, Params, with_overrides
from landmark.retrieval.build import build_index, top1
from landmark.retrieval.frozen_view import FrozenView
from landmark.retrieval.index import CentroidIndex
from landmark.retrieval.threshold import calibrate
from research.fold_study import EVALUATED

log = logging.getLogger("research.frozen_fusion")
KNN = 3
VIEW_SIZE = "224"  # the frozen size the seed, k and wider-reject sections use
SCORED = ("calibration", "collection")
Sets = dict[str, np.ndarray]


def index_score(index: CentroidIndex, queries: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(N,) the acceptance score `index` gives each query's given landmark (its best row)."""
    sims, labels = index.search(queries, k=index.index.ntotal)
    out = np.full(len(queries), -1.0)
    for i, name in enumerate(landmarks):
        hit = [s for s, lab in zip(sims[i], labels[i], strict=True) if lab == name and np.isfinite(s)]
        if hit:
            out[i] = max(hit)
    return out


def fused_metrics(score: Sets, answer: np.ndarray, sets: dict[str, pd.DataFrame], params: Params
                  ) -> tuple[dict[str, float], np.ndarray]:
    """Metrics of the collection with acceptance score score['collection'] and the threshold calibrated
    on score['calibration'] (params.index.target_fpr); also which collection photos pass it."""
    fprs = tuple(params.index.fprs)
    threshold = calibrate(score["calibration"], params.index.target_fpr, fprs).value
    s = score["collection"]
    metrics = summarize(QueryResults(truth_array(sets["collection"]), answer, s, s), threshold, fprs)
    roles = sets["collection"]["role"].to_numpy()
    for role in ("non_landmark", "unknown"):
        metrics[f"fpr_{role}"] = float((s >= threshold)[roles == role].mean())
    return metrics, s >= threshold


@dataclasses.dataclass(frozen=True)
class Answers:
    """The trained recognizer's answer and acceptance score on the calibration photos and collection."""

    landmark: dict[str, np.ndarray]
    score: Sets

    @classmethod
    def of(cls, emb: Sets, sets: dict[str, pd.DataFrame], params: Params) -> Answers:
        labels = sets["database"]["landmark"].to_numpy(dtype=object)
        index = build_index(emb["database"], labels, params.index, "centroids")
        got = {n: top1(index, emb[n]) for n in SCORED}
        return cls({n: g[0] for n, g in got.items()}, {n: g[1] for n, g in got.items()})

    def view(self, features: Sets, sets: dict[str, pd.DataFrame], k: int = KNN) -> Sets:
        """The frozen view's score of each calibration / collection photo for its answered landmark."""
        view = FrozenView.build(features["database"], sets["database"]["landmark"].to_numpy(dtype=object))
        return {n: view.score(features[n], self.landmark[n], k) for n in SCORED}

    def fused(self, extra: Sets, weight: float) -> Sets:
        return {n: self.score[n] + weight * extra[n] for n in SCORED}


def fold_rows(emb: Sets, frozen: dict[str, Sets], sets: dict[str, pd.DataFrame], params: Params,
              weights: list[float], concat: list[float]) -> list[dict[str, object]]:
    """Every (frozen size, frozen score, weight) of one network on one fold, plus the recognizer alone."""
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    ans = Answers.of(emb, sets, params)

    def row(size: str, kind: str, w: float, score: Sets) -> dict[str, object]:
        return {"frozen size": size, "frozen score": kind, "weight": w,
                **fused_metrics(score, ans.landmark["collection"], sets, params)[0]}

    rows = [row("-", "none", 0.0, ans.score)]
    own = ans.view(emb, sets)  # the same kNN score on the trained embeddings: the control
    rows += [row("-", "trained_knn3", w, ans.fused(own, w)) for w in weights]
    for size, f in frozen.items():
        knn = ans.view(f, sets)
        f_index = build_index(f["database"], labels, params.index, "centroids")
        by_index = {n: index_score(f_index, f[n], ans.landmark[n]) for n in SCORED}
        for kind, fs in (("frozen_knn3", knn), ("frozen_index", by_index)):
            rows.append(row(size, kind + " alone", 1.0, fs))
            rows += [row(size, kind, w, ans.fused(fs, w)) for w in weights]
        for beta in concat:
            cat = {n: np.hstack([np.sqrt(1 - beta) * emb[n], np.sqrt(beta) * f[n]]).astype(np.float32)
                   for n in EVALUATED}
            got = Answers.of(cat, sets, params)
            rows.append({"frozen size": size, "frozen score": "concatenated", "weight": beta,
                         **fused_metrics(got.score, got.landmark["collection"], sets, params)[0]})
    return rows


def tail_cost(backbone: BackboneParams, trainable_blocks: int, size: int) -> dict[str, float]:
    """FLOPs (torch's counter, one random photo at `size` px) of the whole backbone and of its layers
    before the last `trainable_blocks` blocks (shared by the trained and the frozen network); the
    frozen tail is the difference. (Times on this shared 2-core machine were too noisy to report.)"""
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from landmark.models.embedder import frozen_embedder
    from landmark.models.frozen_tail import check_composes, shared_unit_count
    from landmark.training.finetune import backbone_units

    net = frozen_embedder(dataclasses.replace(backbone, image_size=size)).backbone.eval()
    check_composes(net, size)
    units = backbone_units(net)
    parts = {"whole": nn.Sequential(*units), "shared": nn.Sequential(*units[:shared_unit_count(net, trainable_blocks)])}
    x = torch.randn(1, 3, size, size)
    flops = {}
    with torch.inference_mode():
        for name, part in parts.items():
            with FlopCounterMode(display=False) as counter:
                part(x)
            flops[name] = counter.get_total_flops() / 1e6
    tail = flops["whole"] - flops["shared"]
    return {"size": size, "whole backbone MFLOPs": flops["whole"], "frozen tail MFLOPs": tail,
            "one pass with the tail / without": 1 + tail / flops["whole"]}


def left_out_fused(emb: np.ndarray, frozen: np.ndarray, labels: np.ndarray, params: Params,
                   weights: list[float]) -> dict[float, np.ndarray]:
    """landmark.retrieval.left_out's scores with the frozen view: each landmark's database photos against
    the index of the other landmarks (its answer and score s) plus w x the frozen view's score for that
    answer (the view holds every landmark; the answer is never the left-out one). Keyed by w (0 included)."""
    from landmark.retrieval.left_out import left_out_answers

    s, answers, rows = left_out_answers(emb, labels, params.index)
    f = FrozenView.build(frozen, labels).score(frozen[rows], answers)
    return {w: s + w * f for w in [0.0, *weights]}


def wider_points(emb: Sets, extra_emb: np.ndarray, frozen: Sets, frozen_extra: np.ndarray,
                 sets: dict[str, pd.DataFrame], extra: pd.DataFrame, params: Params, weights: list[float],
                 seed: int) -> list[dict[str, object]]:
    """research.wider_rejects' three must-reject sets (fold's own, + gcompris, + gcompris with half the
    everyday photos calibrating): metrics and the operating point of the recognizer and of s + w f, with
    the threshold calibrated on the calibration photos alone and floored by the left-out landmarks
    (left_out_fused; index.left_out_landmarks)."""
    from landmark.retrieval.threshold import threshold_for_fpr
    from research.wider_rejects import added_rows, halves, passed_shares, widened

    added = added_rows(extra)
    everyday = np.flatnonzero((extra["kind"] == "everyday").to_numpy())
    cal_half, query_half = halves(len(everyday), seed)
    query = np.sort(np.concatenate([np.flatnonzero((extra["kind"] == "monument").to_numpy()),
                                    everyday[query_half]]))
    calib = everyday[cal_half]
    variants = {"fold's own": (np.zeros(0, dtype=np.int64), None),
                "+ gcompris": (np.arange(len(extra)), None),
                "+ gcompris, half the everyday photos calibrate": (query, calib)}
    labels = sets["database"]["landmark"].to_numpy(dtype=object)
    floors = {w: threshold_for_fpr(lo, params.index.target_fpr)
              for w, lo in left_out_fused(emb["database"], frozen["database"], labels, params, weights).items()}
    rows: list[dict[str, object]] = []
    for musts, (q, c) in variants.items():
        cal_rows = added.iloc[c] if c is not None else None
        s, e = widened(sets, emb, added.iloc[q], extra_emb[q], cal_rows,
                       extra_emb[c] if c is not None else None)
        _, f = widened(sets, frozen, added.iloc[q], frozen_extra[q], cal_rows,
                       frozen_extra[c] if c is not None else None)
        ans = Answers.of(e, s, params)
        view = ans.view(f, s)
        groups = s["collection"]["group"].to_numpy()
        correct = np.array([t is not None and t == a for t, a in
                            zip(truth_array(s["collection"]), ans.landmark["collection"], strict=True)])
        known = s["collection"]["role"].to_numpy() == "known"
        plain = ans.score["collection"] >= calibrate(ans.score["calibration"], params.index.target_fpr,
                                                     tuple(params.index.fprs)).value
        unknown = sorted(set(s["collection"].loc[s["collection"]["role"] == "unknown", "landmark"]))
        picked = set(np.random.default_rng(seed).permutation(unknown)[: len(unknown) // 2].tolist())
        held = s["collection"]["landmark"].isin(picked).to_numpy()  # calibrate, are not queries
        for w in [0.0, *weights]:
            score = ans.fused(view, w)
            metrics, passed = fused_metrics(score, ans.landmark["collection"], s, params)
            rows.append({"must-reject": musts, "threshold from": "non-landmarks", "weight": w, **metrics,
                         "known answered": metrics["sensitivity_at_threshold"],
                         **{f"{g} accepted": v for g, v in passed_shares(passed, groups).items()}})
            floored = max(metrics["threshold"], floors[w])
            passed = score["collection"] >= floored
            rows.append({"must-reject": musts, "threshold from": "+ left-out floor", "weight": w,
                         "threshold": floored, "known answered": float((correct & passed)[known].mean()),
                         **{f"{g} accepted": v for g, v in passed_shares(passed, groups).items()}})
            if musts == "+ gcompris":  # floored instead by real unseen landmarks: half the fold's, by landmark
                floored = max(metrics["threshold"], threshold_for_fpr(score["collection"][held],
                                                                      params.index.target_fpr))
                passed = (score["collection"] >= floored)[~held]
                rows.append({"must-reject": musts, "threshold from": "+ half the unknown landmarks' floor",
                             "weight": w, "threshold": floored,
                             "known answered": float((correct[~held] & passed)[known[~held]].mean()),
                             **{f"{g} accepted": v for g, v in passed_shares(passed, groups[~held]).items()}})
            if w > 0:  # accepted by both: the plain score at its threshold and the fused one at its own
                both = plain & (score["collection"] >= metrics["threshold"])
                rows.append({"must-reject": musts, "threshold from": "non-landmarks, plain and fused", "weight": w,
                             "threshold": metrics["threshold"], "known answered": float((correct & both)[known].mean()),
                             **{f"{g} accepted": v for g, v in passed_shares(both, groups).items()}})
    return rows


def add_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--weights", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--concat", type=float, nargs="+", default=[0.25, 0.5],
                    help="frozen shares beta of the concatenated descriptor")
    ap.add_argument("--frozen-sizes", type=int, nargs="+", default=[128, 224])
    ap.add_argument("--seed-tags", nargs="+", default=["", "_tseed18"],
                    help="research.test_resolution network tags ('' = --seed's network)")
    ap.add_argument("--knn", type=int, nargs="+", default=[1, 3, 5, 10])
    ap.add_argument("--wider-weights", type=float, nargs="+", default=[1.0, 2.0])


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    from research import folds as fl
    from research.test_resolution import embeddings_file, label
    from research.wider_rejects import gcompris_world

    began = time.perf_counter()
    args, study, _, extra = gcompris_world(argv, __doc__.split("\n")[0], "docs/real_results_frozen_fusion.md",
                                           add_options)
    params = study.params
    every = pd.concat([study.landmarks, study.non], ignore_index=True)
    by_size, extra_by_size = {}, {}
    for size in args.frozen_sizes:
        sized = with_overrides(params, "backbone", image_size=size)
        by_size[str(size)] = (study.frozen if size == study.options.image_size
                              else fl.frozen_embeddings(every, sized))
        extra_frozen = fl.frozen_embeddings(extra, sized)
        extra_by_size[str(size)] = np.stack([extra_frozen[p] for p in extra["path"]])
    rows: list[dict[str, object]] = []
    knn_rows: list[dict[str, object]] = []
    wider: list[dict[str, object]] = []
    for fold in fl.chosen_folds(args.only_folds, args.folds):
        sets = study.sets(study.world(fold))
        frozen = {size: {k: np.stack([f[p] for p in sets[k]["path"]]) for k in EVALUATED}
                  for size, f in by_size.items()}
        for tag in args.seed_tags:
            path = embeddings_file(args.work, fold, args.variant, args.epochs, args.train_size, args.size,
                                   study.options.image_size, tag)
            if not path.is_file():
                raise SystemExit(f"{path}: no saved trained embeddings; run research.test_resolution first")
            with np.load(path) as z:
                emb = {k: z[k] for k in EVALUATED}
            network = f"{label(args.train_size, args.size)}{tag or f' seed {args.seed}'}"
            first = tag == args.seed_tags[0]
            chosen = frozen if first else {VIEW_SIZE: frozen[VIEW_SIZE]}
            rows += [{"network": network, "fold": fold, **r}
                     for r in fold_rows(emb, chosen, sets, params, args.weights, args.concat if first else [])]
            if not first:
                continue
            ans = Answers.of(emb, sets, params)
            for k in args.knn:
                view = ans.view(frozen[VIEW_SIZE], sets, k)
                for w in args.wider_weights:
                    knn_rows.append({"k": k, "weight": w, "fold": fold, **fused_metrics(
                        ans.fused(view, w), ans.landmark["collection"], sets, params)[0]})
            saved = args.work / f"gcompris_fold{fold}_{label(args.train_size, args.size)}.npz"
            if not saved.is_file():
                raise SystemExit(f"{saved}: run research.wider_rejects first")
            with np.load(saved) as z:
                if z["image_id"].tolist() != extra["image_id"].tolist():
                    raise SystemExit(f"{saved}: other gcompris photos; rerun research.wider_rejects")
                extra_emb = z["embeddings"]
            wider += [{"fold": fold, **r} for r in wider_points(
                emb, extra_emb, frozen[VIEW_SIZE], extra_by_size[VIEW_SIZE], sets, extra, params,
                args.wider_weights, args.seed)]
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    frame = pd.DataFrame(rows)
    frame.to_csv(args.work / "frozen_fusion_metrics.csv", index=False)
    costs = pd.DataFrame([tail_cost(params.backbone, params.train.trainable_blocks, s) for s in (128, 224)])
    command = "python -m research.frozen_fusion " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(report(frame, pd.DataFrame(knn_rows), pd.DataFrame(wider), costs, command.strip(),
                               params.train.trainable_blocks, time.perf_counter() - began))
    log.info("wrote %s", args.out)


def against(frame: pd.DataFrame, by: list[str]) -> str:
    """Each row group minus the recognizer alone of the same network and fold: mean and folds >= 0."""
    base = frame[frame["frozen score"] == "none"].set_index(["network", "fold"])
    lines = []
    for key, part in frame[frame["frozen score"] != "none"].groupby(by, sort=False):
        part = part.set_index(["network", "fold"])
        cells = []
        for m in ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct"):
            d = (part[m] - base.loc[part.index, m]).to_numpy()
            cells.append(f"{m} {d.mean():+.3f} (>= on {int((d >= 0).sum())}/{len(d)})")
        lines.append(f"- {' / '.join(map(str, key))}: " + "; ".join(cells))
    return "\n".join(lines)


def report(frame: pd.DataFrame, knn: pd.DataFrame, wider: pd.DataFrame, costs: pd.DataFrame, command: str,
           trainable_blocks: int, seconds: float) -> str:
    """The markdown page."""
    from research.test_resolution import mean_std_table

    by = ["network", "frozen size", "frozen score", "weight"]
    keys = ["network", "fold", "frozen size", "frozen score", "weight", "gap", "sensitivity_at_fpr_1pct",
            "sensitivity_at_fpr_0_1pct", "threshold", "fpr_non_landmark", "fpr_unknown", "sensitivity_at_threshold"]
    wider_means = (wider.groupby(["must-reject", "threshold from", "weight"], sort=False).mean(numeric_only=True)
                   .drop(columns="fold"))
    shown = [c for c in wider_means.columns if c in ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct",
                                                     "threshold", "known answered") or c.endswith("accepted")]
    return f"""# The frozen network's score beside the trained one (generated by research.frozen_fusion)

Command: `{command}` ({seconds / 60:.1f} min on this 2-core machine). What and why: the module docstring.
Networks: research.test_resolution's saved embeddings; index: params.index as it is.
`frozen score` none = the product's recognizer; `X alone` = the frozen score by itself (the trained
network still picks the landmark); otherwise s + weight x f. accuracy@1 is the recognizer's in every
row but `concatenated`.

## Mean ± std over folds

{mean_std_table(frame, by)}

## Minus the recognizer alone, mean over folds (folds where >= the recognizer)

{against(frame, by)}

## k of the frozen kNN score ({VIEW_SIZE} px, first network; mean over folds)

{knn.groupby(["k", "weight"]).mean(numeric_only=True)[["gap", "sensitivity_at_fpr_1pct",
             "sensitivity_at_fpr_0_1pct"]].reset_index().to_markdown(index=False, floatfmt=".3f")}

## Against must-reject photos from outside the folds (research.wider_rejects' sets; {VIEW_SIZE} px, k = {KNN})

Weight 0 = the product's recognizer. Threshold-free metrics on each collection, and at the threshold
calibrated at params.index.target_fpr on the calibration photos (the operating point users get),
that threshold floored by every left-out landmark (index.left_out_landmarks, with the same fused
score), floored instead by the threshold at the same FPR on the photos of half of the fold's unknown
landmarks (seeded, by landmark; they are then not queries, the other half are), and `plain and
fused`: accepted only when the plain score passes its own calibrated threshold too: the share of each
must-reject group accepted, and of the known queries answered correctly and accepted.
Mean over folds:

{wider_means[shown].reset_index().to_markdown(index=False, floatfmt=".3f")}

## Cost

The trained network trains its last {trainable_blocks} blocks and the layers after them; everything
before them is the frozen network's, so one pass runs those layers once and then both tails. FLOPs
(torch.utils.flop_counter, one photo; pooling and neck are negligible):

{costs.to_markdown(index=False, floatfmt=".2f")}

## Per fold (threshold calibrated on the fold's calibration photos at params.index.target_fpr)

{frame[keys].to_markdown(index=False, floatfmt=".3f")}

### Outside photos, per fold

{wider[["fold", "must-reject", "threshold from", "weight", *shown]].to_markdown(index=False, floatfmt=".3f")}
"""


if __name__ == "__main__":
    main()
