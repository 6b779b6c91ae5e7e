"""What the unseen-landmark floor (split.calibration_landmarks) does at the threshold on make run's sample
world: `python -m research.unseen_floor --out docs/sample_world_unseen_floor.md` (after `make run` with
split.calibration_landmarks > 0, e.g. `dvc exp run -S split.calibration_landmarks=3`; under a minute).

The evaluate stage's predictions.csv holds every query's answer and acceptance score, so the outcome at
any threshold is a count. The calibration landmarks' photos are embedded again with the stored
recognizer and scored as the index stage scored them (landmark.retrieval.unseen_landmarks); the table
shows the outcome at the non-landmark threshold alone, at the stored one (floored at the target FPR),
at looser floors (a larger share of the unseen photos may pass), and with one floor per answered
landmark (only the landmarks the unseen photos land on are raised). The calibration landmarks are not
in the collection: the unknown landmarks counted here are other ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from landmark import layout
from landmark.data.manifest import SPLIT_CALIBRATION, is_landmark, read_manifest
from landmark.params import load_params
from landmark.retrieval.recognizer import Recognizer
from landmark.retrieval.threshold import threshold_for_fpr
from landmark.retrieval.unseen_landmarks import counted, own_landmark_similarity

LOOSER = (0.1, 0.3, 0.5)  # shares of the counted unseen-landmark photos a floor may let through


def at_threshold(predictions: pd.DataFrame, threshold: np.ndarray | float) -> dict[str, float]:
    """Known queries answered correctly / wrongly, and the share of each must-reject kind accepted, at
    `threshold` (one value, or one per query)."""
    accepted = predictions["similarity"].to_numpy(dtype=np.float64) >= threshold
    role = predictions["role"].to_numpy(dtype=str)
    correct = (predictions["predicted"] == predictions["truth"]).to_numpy()
    return {
        "known answered correctly": float((accepted & correct)[role == "known"].mean()),
        "known answered wrongly": float((accepted & ~correct)[role == "known"].mean()),
        "unknown landmarks passed": float(accepted[role == "unknown"].mean()),
        "non-landmarks passed": float(accepted[role == "non_landmark"].mean()),
        "must-reject passed (pooled)": float(accepted[role != "known"].mean()),
    }


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=Path, default=Path("params.yaml"))
    ap.add_argument("--out", type=Path, default=Path("docs/sample_world_unseen_floor.md"))
    args = ap.parse_args(argv)
    params = load_params(args.params)
    metrics_path, predictions_path = layout.INDEX / "metrics.json", layout.EVALUATE / "predictions.csv"
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise SystemExit(f"{path}: run `make run` first")
    index = json.loads(metrics_path.read_text())
    if not index.get("unseen_landmark_photos"):
        raise SystemExit(f"{metrics_path}: built without calibration landmarks (split.calibration_landmarks = 0)")
    split = read_manifest(layout.SPLIT / "manifest.csv")
    unseen = split[(split["split"] == SPLIT_CALIBRATION) & is_landmark(split)].reset_index(drop=True)
    recognizer = Recognizer.load(layout.INDEX, layout.final_model(len(params.train.stages)), backend="fp32")
    rows = recognizer.embed([layout.DATA / p for p in unseen["path"]])
    preds = recognizer.predict_embeddings(rows)
    scores = np.array([p.score if p.score is not None else p.similarity for p in preds])
    answers = np.array([p.candidate for p in preds], dtype=object)
    keep = counted(scores, own_landmark_similarity(rows, unseen["landmark"].to_numpy()))
    predictions = pd.read_csv(predictions_path, dtype={"truth": str, "predicted": str}, keep_default_na=False)
    t_nl, fpr = index["threshold_non_landmarks"], params.index.target_fpr
    table = [{"threshold": "non-landmark photos only", "value": t_nl, **at_threshold(predictions, t_nl)}]
    for share in (fpr, *LOOSER):
        t = max(t_nl, threshold_for_fpr(scores[keep], share))
        name = f"+ unseen floor at {share:g}" + (" (stored)" if share == fpr else "")
        table.append({"threshold": name, "value": t, **at_threshold(predictions, t)})
    per_landmark = {str(name): max(t_nl, threshold_for_fpr(scores[keep & (answers == name)], fpr))
                    for name in sorted(set(answers[keep].tolist()) - {None})}
    each = np.array([per_landmark.get(p, t_nl) for p in predictions["predicted"]])
    table.append({"threshold": f"+ unseen floor at {fpr:g}, one per answered landmark",
                  "value": float("nan"), **at_threshold(predictions, each)})
    truth_csv = layout.DATA / layout.DATA_NOISE_TRUTH.name  # the sample world's mislabelled photos
    filed_wrong = (unseen["image_id"].astype(str).isin(pd.read_csv(truth_csv, dtype=str)["image_id"]).to_numpy()
                   if truth_csv.is_file() else np.zeros(len(unseen), bool))
    hardest = pd.DataFrame({"calibration landmark": unseen["landmark"], "answered": answers, "score": scores,
                            "counted": keep, "mislabelled (truth)": filed_wrong}).sort_values("score", ascending=False)
    top = hardest.groupby("calibration landmark", sort=True).head(3)
    counts = predictions["role"].value_counts()
    command = "python -m research.unseen_floor " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.write_text(f"""# The unseen-landmark floor at the threshold (generated by research.unseen_floor)

Command: `{command.strip()}`, on `make run`'s artifacts with split.calibration_landmarks =
{params.split.calibration_landmarks}. What and why: the module docstring. {len(unseen)} photos of
{unseen["landmark"].nunique()} calibration landmarks, {int(keep.sum())} of them counted (their own
landmark's photos at least as close as the answer); {int(filed_wrong.sum())} were filed under the
wrong landmark (the sample world's truth), {int((filed_wrong & keep).sum())} of those counted.
Collection: {counts.get("known", 0)} known-landmark
queries, {counts.get("unknown", 0)} photos of the unknown landmarks, {counts.get("non_landmark", 0)}
non-landmark photos.

{pd.DataFrame(table).to_markdown(index=False, floatfmt=".3f")}

The 3 highest-scoring photos of each calibration landmark, and the known landmark they land on:

{top.to_markdown(index=False, floatfmt=".3f")}
""")


if __name__ == "__main__":
    main()
