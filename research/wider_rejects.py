"""The default recognizer against must-reject photos from outside the folds: `python -m
research.wider_rejects --work artifacts/folds --out docs/real_results_wider_rejects.md`.

Each fold's must-reject photos are its 3-4 unknown landmarks and crops of 31 non-landmark photos, so a
low-FPR threshold is decided by a few look-alike buildings (docs/real_results_hardest.md). Here the
same folds, networks and collections (research.test_resolution's saved train224@224 embeddings, the
product's default index and its baselines, thresholds calibrated as before) get more real must-reject
photos, none of them from the sources the folds train, calibrate or index on: research.gcompris_photos'
83 photos of about 60 world monuments (unknown landmarks: the Eiffel Tower, the Taj Mahal, pyramids,
castles, cathedrals; none of the 19 fold landmarks) and 110 everyday photos (fish, tools, household
objects, animals, musicians, hands). They are added to the collection as must-reject queries only; the
known queries stay the same. Per fold: the metrics with the fold's own must-reject photos and with the
wider set; at each system's calibrated threshold (the operating point users get), the share of every
must-reject group accepted, also when half of the everyday photos (seeded, by photo) join the fold's
calibration crops and the other half are queries; and the added monuments that score highest.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from landmark.evaluation.collection import truth_array
from landmark.retrieval.build import build_index
from research.fold_study import EVALUATED, FoldStudy, fold_study, study_parser
from research.folds import Package

log = logging.getLogger("research.wider_rejects")
SYSTEMS = ("recognizer", "baseline_single_centroid", "baseline_nearest_photo")
METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1")
ROLE = {"monument": "unknown", "everyday": "non_landmark"}
GROUPS = ("fold non-landmarks", "fold unknown landmarks", "gcompris everyday", "gcompris monuments")
SHOWN = 5  # highest-scoring added monuments listed per fold


def added_rows(extra: pd.DataFrame) -> pd.DataFrame:
    """research.gcompris_photos rows as must-reject collection rows (role unknown for monuments,
    non_landmark for everyday photos; no truth), with their `group`."""
    return extra.assign(landmark=[f"gcompris:{n}" for n in extra["name"]], role=extra["kind"].map(ROLE), truth="",
                        group=[f"gcompris {'monuments' if k == 'monument' else 'everyday'}" for k in extra["kind"]])


def widened(sets: dict[str, pd.DataFrame], emb: dict[str, np.ndarray], query: pd.DataFrame, query_emb: np.ndarray,
            calibration: pd.DataFrame | None = None, calibration_emb: np.ndarray | None = None,
            ) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """The fold's sets and embeddings with `query` (added_rows) appended to the collection and, when
    given, `calibration` photos appended to the calibration set. Collection rows get `group`."""
    own = sets["collection"].assign(group=sets["collection"]["role"].map(
        {"known": "fold known", "unknown": "fold unknown landmarks", "non_landmark": "fold non-landmarks"}))
    columns = ["image_id", "path", "landmark", "role", "truth", "group"]
    out_sets = {**sets, "collection": pd.concat([own[columns], query[columns]], ignore_index=True)}
    out_emb = {**emb, "collection": np.concatenate([emb["collection"], query_emb]).astype(np.float32)}
    if calibration is not None and calibration_emb is not None:
        out_sets["calibration"] = pd.concat([sets["calibration"], calibration[["image_id", "path", "landmark"]]],
                                            ignore_index=True)
        out_emb["calibration"] = np.concatenate([emb["calibration"], calibration_emb]).astype(np.float32)
    return out_sets, out_emb


def passed_shares(passed: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """The share of each must-reject GROUP (among the collection's `groups`) at or above a threshold."""
    return {group: float(passed[groups == group].mean()) for group in GROUPS if (groups == group).any()}


def operating_point(evaluation, groups: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """At the system's calibrated threshold: its value, the share of each must-reject GROUP accepted,
    and the share of known queries answered correctly and accepted."""
    threshold = evaluation.metrics["threshold"]
    shares = passed_shares(evaluation.results.similarity >= threshold, groups)
    return {"threshold": threshold,
            "known answered (sensitivity at threshold)": evaluation.metrics["sensitivity_at_threshold"],
            **{f"{group} accepted": share for group, share in shares.items()}}


def fold_gcompris_embeddings(args: argparse.Namespace, study: FoldStudy, fold: int, world: pd.DataFrame,
                             extra: pd.DataFrame) -> np.ndarray:
    """(len(extra), D) embeddings of the gcompris photos by the fold's network trained at args.train_size
    px, at args.size px: read from --work when saved for these photos, else embedded (the network
    loaded or trained by research.test_resolution.trained_model) and saved there."""
    from research.test_resolution import embed_at, label, trained_model

    saved = args.work / f"gcompris_fold{fold}_{label(args.train_size, args.size)}.npz"
    kept = dict(np.load(saved)) if saved.is_file() else {}
    if kept and kept["image_id"].tolist() == extra["image_id"].tolist():
        return kept["embeddings"]
    model = trained_model(args, world, study.params, study.frozen, fold, args.train_size)
    emb = embed_at(model, {"extra": extra}, study.params, args.size)["extra"]
    np.savez(saved, image_id=extra["image_id"].to_numpy(dtype=str), embeddings=emb)
    return emb


def gcompris_world(argv: list[str] | None, description: str, out: str,
                   extend: Callable[[argparse.ArgumentParser], None] | None = None,
                   ) -> tuple[argparse.Namespace, FoldStudy, Package, pd.DataFrame]:
    """What research.wider_rejects, research.loo_calibration and research.frozen_fusion start from: their
    arguments (a fold study's, with research.test_resolution's network arguments, and what `extend`
    adds), the folds, the gcompris-qt-data package and its vetted photos (written under --work/gcompris)."""
    from research import folds as fl
    from research.gcompris_photos import PACKAGE, gcompris_photos
    from research.test_resolution import add_network_arguments

    ap = study_parser(description, out, training=True)
    add_network_arguments(ap, 224, 224)
    if extend is not None:
        extend(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    package = fl.fetch_package(PACKAGE, args.cache)
    return args, study, package, gcompris_photos(package.root, args.work / "gcompris")


def halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of range(n) into two halves (calibration, query)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    from research import evaluate_real as ev
    from research import folds as fl
    from research.gcompris_photos import PACKAGE
    from research.test_resolution import label, mean_std_table, saved_embeddings

    began = time.perf_counter()
    args, study, package, extra = gcompris_world(argv, __doc__.split("\n")[0], "docs/real_results_wider_rejects.md")
    params = study.params
    model_label = label(args.train_size, args.size)
    rows, points, hardest = [], [], []
    added = added_rows(extra)
    everyday = np.flatnonzero((extra["kind"] == "everyday").to_numpy())
    cal_half, query_half = halves(len(everyday), args.seed)
    recal_query = np.sort(np.concatenate([np.flatnonzero((extra["kind"] == "monument").to_numpy()),
                                          everyday[query_half]]))
    for fold in fl.chosen_folds(args.only_folds, args.folds):
        world = study.world(fold)
        sets = study.sets(world)
        emb = saved_embeddings(args, study.options.image_size, fold)
        extra_emb = fold_gcompris_embeddings(args, study, fold, world, extra)
        no_extra = added.iloc[:0]
        variants = {
            "fold's own": widened(sets, emb, no_extra, extra_emb[:0]),
            "+ gcompris": widened(sets, emb, added, extra_emb),
            "+ gcompris, half the everyday photos calibrate": widened(
                sets, emb, added.iloc[recal_query], extra_emb[recal_query],
                added.iloc[everyday[cal_half]], extra_emb[everyday[cal_half]]),
        }
        for musts, (s, e) in variants.items():
            evaluations = ev.evaluate_model({k: e[k] for k in EVALUATED}, s, params)
            groups = s["collection"]["group"].to_numpy()
            for system in SYSTEMS:
                m = evaluations[system].metrics
                rows.append({"must-reject": musts, "system": system, "fold": fold,
                             "must-reject photos": sum(t is None for t in truth_array(s["collection"])),
                             "calibration photos": len(s["calibration"]), **{k: m[k] for k in METRICS}})
                points.append({"must-reject": musts, "system": system, "fold": fold,
                               **operating_point(evaluations[system], groups)})
        index = build_index(emb["database"], sets["database"]["landmark"].to_numpy(dtype=object), params.index,
                            "centroids")
        scores, names = index.search(extra_emb, k=1)
        top = extra.assign(score=scores[:, 0], lands_on=names[:, 0])
        top = top[top["kind"] == "monument"].sort_values("score", ascending=False).head(SHOWN)
        hardest += [{"fold": fold, "monument": r["name"], "lands on": r["lands_on"], "score": r["score"]}
                    for _, r in top.iterrows()]
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    frame = pd.DataFrame(rows)
    points_frame = pd.DataFrame(points)
    point_means = (points_frame.groupby(["must-reject", "system"], sort=False).mean(numeric_only=True)
                   .drop(columns="fold").reset_index())
    counts = extra.groupby(["kind", "licence"]).size().rename("photos").reset_index()
    command = "python -m research.wider_rejects " + " ".join(sys.argv[1:] if argv is None else argv)
    n_monuments, n_everyday = int((extra["kind"] == "monument").sum()), int((extra["kind"] == "everyday").sum())
    text = f"""# The default recognizer against must-reject photos from outside the folds
(generated by research.wider_rejects)

Command: `{command.strip()}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). What and why:
the module docstring. Network: {model_label} (research.test_resolution's saved embeddings); index:
params.index. Added photos: Debian `{PACKAGE}` {package.version}, {n_monuments} monument and {n_everyday}
everyday photos, longer side 256 px; licences from the
package's copyright file (the last matching stanza):

{counts.to_markdown(index=False)}

## Mean ± std over folds

{mean_std_table(frame, ["must-reject", "system"])}

## At the calibrated threshold (the operating point users get)

Share of each must-reject group accepted, and of the known queries answered correctly and accepted, at
each system's threshold (params.index.target_fpr on the calibration photos). `+ gcompris, half the
everyday photos calibrate`: {len(cal_half)} of the {n_everyday} everyday photos (seeded, by photo) join the fold's
calibration crops; the other {len(query_half)} and the monuments are queries.

### Mean over folds

{point_means.to_markdown(index=False, floatfmt=".3f")}

### Per fold

{points_frame.to_markdown(index=False, floatfmt=".3f")}

## Highest-scoring added monuments (recognizer's index), per fold

{pd.DataFrame(hardest).to_markdown(index=False, floatfmt=".3f")}

## Per fold

{frame.to_markdown(index=False, floatfmt=".3f")}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
