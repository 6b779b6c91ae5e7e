"""Ablation of the training choices on the real tourist photos: `python -m research.ablation
--device cpu|cuda --out docs/training_ablation.md`.

Split (fixed seed): of the landmarks in the real-photo manifest, `unknown` are left out entirely
(their photos must be rejected); each known landmark's photos are split 70/30 into train (database +
training) and held-out queries. There are no non-landmark photos among the real ones, so the
non-landmark class is left out of this ablation (the centre loss is then Wen et al.'s plain one).

Variants: frozen ImageNet backbone (GeM-pooled features, no training); softmax; softmax + centre loss;
softmax + centre loss with curriculum (K parts by a difficulty score from the frozen features: mean
cosine of a landmark's photos to its centroid); ArcFace; sub-center ArcFace. Every variant trains with
the product's curriculum loop (landmark.training.curriculum_run) and gets the same total epochs.
Metrics: accuracy@1 by nearest centroid on held-out photos, and rejection of the unknown landmarks'
photos by top centroid similarity (ROC AUC known-vs-unknown, sensitivity at 1% FPR: share of held-out
photos correctly named above the threshold that passes 1% of unknown ones).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from landmark.data.images import load_rgb
from landmark.models.embedder import Embedder, create_embedder
from landmark.models.transforms import eval_transform
from landmark.params import Params, load_params, with_overrides
from landmark.training.curriculum_run import train_curriculum
from research.train_real import difficulty_parts, stage_schedule, with_parts

log = logging.getLogger("research.ablation")
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-landmarks"
VARIANTS = (
    "frozen",
    "softmax",
    "softmax_centre",
    "softmax_centre_curriculum",
    "arcface",
    "subcenter_arcface",
)


def split_real(manifest: pd.DataFrame, seed: int, unknown: int, train_share: float = 0.7) -> pd.DataFrame:
    """Add `role` (train | heldout | unknown): `unknown` landmarks left out, the rest split per landmark."""
    rng = np.random.default_rng(seed)
    names = sorted(manifest["landmark"].unique())
    left_out = set(rng.choice(names, size=unknown, replace=False).tolist())
    frame = manifest.copy()
    frame["role"] = "unknown"
    for name in names:
        if name in left_out:
            continue
        idx = rng.permutation(frame.index[frame["landmark"] == name].to_numpy())
        cut = int(round(train_share * len(idx)))
        frame.loc[idx[:cut], "role"] = "train"
        frame.loc[idx[cut:], "role"] = "heldout"
    return frame


@torch.inference_mode()
def embed(model: Embedder, images: torch.Tensor, device: str, batch: int = 128) -> np.ndarray:
    """(N, 3, H, W) preprocessed photos -> (N, D) float32 L2-normalised embeddings."""
    model.eval().to(device)
    out = [model(images[i : i + batch].to(device)).float().cpu() for i in range(0, len(images), batch)]
    return torch.cat(out).numpy()


def evaluate(emb: np.ndarray, frame: pd.DataFrame) -> dict[str, float]:
    """Nearest-centroid accuracy@1 on held-out photos; known-vs-unknown AUC and sensitivity at 1% FPR."""
    train = (frame["role"] == "train").to_numpy()
    names = sorted(frame.loc[train, "landmark"].unique())
    centroids = np.stack([emb[train & (frame["landmark"] == n).to_numpy()].mean(0) for n in names])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    sims = emb @ centroids.T
    top, pred = sims.max(1), np.asarray(names)[sims.argmax(1)]
    held, unk = (frame["role"] == "heldout").to_numpy(), (frame["role"] == "unknown").to_numpy()
    correct = pred[held] == frame.loc[held, "landmark"].to_numpy()
    threshold = float(np.quantile(top[unk], 0.99))
    auc = roc_auc_score(np.r_[np.ones(held.sum()), np.zeros(unk.sum())], np.r_[top[held], top[unk]])
    return {
        "accuracy_at_1": float(correct.mean()),
        "auc_known_vs_unknown": float(auc),
        "sensitivity_at_fpr_1pct": float((correct & (top[held] > threshold)).mean()),
    }


def curriculum_parts(emb: np.ndarray, frame: pd.DataFrame, k: int) -> dict[str, int]:
    """Landmark -> part 1..k of the train photos, easiest (highest mean cosine to own centroid) first."""
    train = (frame["role"] == "train").to_numpy()
    return difficulty_parts(emb[train], frame.loc[train, "landmark"].to_numpy(dtype=object), k)


def train_variant(
    variant: str,
    params: Params,
    frame: pd.DataFrame,
    root: Path,
    parts: dict[str, int],
    epochs: int,
    lr: float,
    device: str,
) -> Embedder:
    """Train one variant from the pretrained embedder with the product's curriculum loop
    (training.curriculum_run.train_curriculum); the curriculum variant runs len(set(parts)) stages."""
    loss = variant.removesuffix("_curriculum")
    curriculum = variant.endswith("_curriculum")
    p = with_overrides(params, "train", loss=loss, non_landmark_per_batch=0, curriculum=curriculum)
    k = max(parts.values()) if curriculum else 1
    rows = with_parts(frame[frame["role"] == "train"].reset_index(drop=True), parts if curriculum else None)
    result = train_curriculum(rows, root, p.backbone, p.train, stage_schedule(epochs, k, lr, p.backbone.image_size),
                              device)
    log.info("%s: %d stage(s), last epoch %s", variant, k, result.history[-1:] or "no epochs")
    return result.model


def run(
    root: Path,
    device: str,
    epochs: int,
    lr: float,
    trainable_blocks: int,
    image_size: int,
    workers: int,
    variants: tuple[str, ...],
    seed: int = 7,
    unknown: int = 3,
    parts_k: int = 2,
    weights: str | None = None,
    centre_lambda: float | None = None,
) -> pd.DataFrame:
    """Train and evaluate each variant; one row per variant with its metrics and seconds."""
    params = load_params()
    params = with_overrides(
        params, "backbone", image_size=image_size, weights=weights or params.backbone.weights
    )
    params = with_overrides(
        params,
        "train",
        trainable_blocks=trainable_blocks,
        num_workers=workers,
        seed=seed,
        centre_lambda=params.train.centre_lambda if centre_lambda is None else centre_lambda,
    )
    frame = split_real(pd.read_csv(root / "manifest.csv", dtype=str), seed, unknown)
    tf = eval_transform(
        create_embedder(dataclasses.replace(params.backbone, weights="none"), False).data_config, image_size
    )
    images = torch.stack([tf(load_rgb(root / p)) for p in frame["path"]])
    rows = []
    frozen_cfg = dataclasses.replace(params.backbone, embed_dim=0)
    frozen_emb = embed(create_embedder(frozen_cfg, pretrained=True), images, device)
    parts = curriculum_parts(frozen_emb, frame, parts_k)
    for variant in variants:
        began = time.perf_counter()
        emb = (
            frozen_emb
            if variant == "frozen"
            else embed(train_variant(variant, params, frame, root, parts, epochs, lr, device), images, device)
        )
        rows.append(
            {
                "variant": variant,
                **evaluate(emb, frame),
                "epochs": 0 if variant == "frozen" else epochs,
                "seconds": round(time.perf_counter() - began, 1),
            }
        )
        log.info("%s", rows[-1])
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, command: str, device: str) -> str:
    """The results table as markdown with the command that produced it."""
    lines = [
        "| variant | accuracy@1 | AUC known vs unknown | sensitivity @ FPR 1% | epochs | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.variant} | {r.accuracy_at_1:.3f} | {r.auc_known_vs_unknown:.3f} | "
            f"{r.sensitivity_at_fpr_1pct:.3f} | {r.epochs} | {r.seconds} |"
        )
    return "\n".join([f"Device: {device}. Command: `{command}`", "", *lines, ""])


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; writes the markdown table to --out."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", type=Path, default=REAL)
    ap.add_argument("--out", type=Path, default=Path("docs/training_ablation.md"))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--trainable-blocks", type=int, default=2)
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--weights", default=None, help="override backbone.weights (a timm state_dict file)")
    ap.add_argument("--centre-lambda", type=float, default=None, help="override train.centre_lambda")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    table = run(
        args.data,
        args.device,
        args.epochs,
        args.lr,
        args.trainable_blocks,
        args.image_size,
        args.workers,
        tuple(args.variants.split(",")),
        weights=args.weights,
        centre_lambda=args.centre_lambda,
    )
    command = "python -m research.ablation " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_markdown(table, command, args.device))
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
