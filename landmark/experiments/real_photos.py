"""The trained recognizer on the real photos, against its baselines:
`python -m landmark.experiments.real_photos --device cpu|cuda --out docs/real_results.md
[--epochs N] [--variants a,b] [--save-model DIR]`.

World: landmark.evaluation.real_world (7 known landmarks, 3 unknown, generated + skimage
non-landmarks split train / calibration / query). Each variant trains on the train split (landmark
photos + non-landmark photos as class 0) with the project's trainer, then the full recognizer
(centroids, faiss, threshold at params.index.target_fpr on the calibration non-landmarks) and the
baselines (frozen backbone, one centroid per landmark, nearest photo) run on the emulated collection;
with --scores also the alternative acceptance scores of landmark.retrieval.rejection.

For a GPU machine without faiss: `--export-bundle DIR` writes the train split as lossless WebP;
`--bundle DIR --save-model OUT` trains there only (float16 model files, *.half.pt); `--models OUT`
evaluates those files here.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from PIL import Image

from landmark.data.manifest import SPLIT_TRAIN
from landmark.experiments.train_real import VARIANTS, frozen_parts, load_half, save_half, train_variant
from landmark.params import load_params, with_overrides

log = logging.getLogger("landmark.experiments.real_photos")
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-landmarks"
DEFAULT_VARIANTS = "frozen,softmax_center,arcface"
SCORE_OPTIONS = (
    ("margin", {"margin_beta": 0.5}),
    ("margin", {"margin_beta": 1.0}),
    ("negative_penalty", {"negative_weight": 0.5}),
    ("negative_penalty", {"negative_weight": 1.0}),
)


def export_bundle(world: pd.DataFrame, out: Path) -> None:
    """The train split's photos as lossless WebP in out/images + out/world.csv (relative paths)."""
    rows = world[world["split"] == SPLIT_TRAIN].reset_index(drop=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rel = []
    for image_id, path in zip(rows["image_id"], rows["path"], strict=True):
        target = f"images/{image_id}.webp"
        Image.open(path).convert("RGB").save(out / target, lossless=True, quality=100, method=4)
        rel.append(target)
    rows.assign(path=rel).to_csv(out / "world.csv", index=False)
    log.info("bundle: %d train photos in %s", len(rows), out)


def read_bundle(folder: Path) -> pd.DataFrame:
    """world.csv of a bundle with absolute paths."""
    world = pd.read_csv(folder / "world.csv", dtype=str, keep_default_na=False)
    world["path"] = [str((folder / p).resolve()) for p in world["path"]]
    return world


def load_models(folder: Path, names: list[str]) -> dict[str, torch.nn.Module]:
    """Saved variants: <name>.half.pt (save_half) or <name>.pt (+ .json, save_embedder)."""
    from landmark.models.checkpoint import load_embedder

    out = {}
    for name in names:
        half, full = folder / f"{name}.half.pt", folder / f"{name}.pt"
        if half.is_file():
            out[name] = load_half(half)
        elif full.is_file():
            out[name] = load_embedder(full)
        else:
            log.warning("no saved model for %s in %s", name, folder)
    return out


def train_all(args: argparse.Namespace, world: pd.DataFrame, names: list[str], save_half_only: bool) -> dict:
    """Train the variants in order (stopping at --time-budget); saves each at once when --save-model."""
    params = train_params(args)
    parts = frozen_parts(world, params, args.parts, args.device)
    began, longest, models = time.perf_counter(), 0.0, {}
    for name in names:
        if args.time_budget and time.perf_counter() - began + longest > args.time_budget:
            log.warning("time budget spent: %s and later variants not trained", name)
            break
        t0 = time.perf_counter()
        model, history = train_variant(VARIANTS[name], world, params, parts, args.epochs, args.lr, args.device)
        seconds = time.perf_counter() - t0
        longest = max(longest, seconds)
        extra = {"variant": name, "epochs": args.epochs, "seconds": seconds, "history": history}
        log.info("%s trained in %.0f s; last epoch %s", name, seconds, history[-1] if history else None)
        if args.save_model:
            if save_half_only:
                save_half(model, args.save_model / f"{name}.half.pt", extra)
            else:
                from landmark.models.checkpoint import save_embedder

                save_embedder(model.cpu(), args.save_model / f"{name}.pt", extra)
        models[name] = model.cpu()
    return models


def train_params(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """params.yaml with the experiment's overrides (image size, workers, embedding cache off)."""
    params = load_params(args.params) if args.params else load_params()
    params = with_overrides(params, "backbone", image_size=args.image_size)
    params = with_overrides(params, "embed", cache_dir="")
    return with_overrides(params, "train", num_workers=args.workers, seed=args.seed)


def evaluate_all(args: argparse.Namespace, world: pd.DataFrame, models: dict) -> str:
    """Evaluate the frozen backbone and every model; markdown tables."""
    from landmark.evaluation.systems import frozen_embedder
    from landmark.experiments import evaluate_real as ev

    params = train_params(args)
    sets = ev.world_sets(world, params)
    frozen = ev.embed_world(frozen_embedder(params), sets, params)
    rows: list[dict[str, object]] = []
    score_rows: list[dict[str, object]] = []
    whiten = [int(d) for d in args.whiten_dims.split(",")]
    for dim in whiten:
        p = with_overrides(params, "index", whiten_dim=dim)
        base = ev.evaluate_model(frozen, sets, p, main="frozen_recognizer")
        for system, e in base.items():
            rows.append({"model": "frozen" + (f" +whiten{dim}" if dim else ""), "system": system, **e.metrics})
    for name, model in models.items():
        emb = ev.embed_world(model, sets, params)
        for dim in whiten:
            p = with_overrides(params, "index", whiten_dim=dim)
            for system, e in ev.evaluate_model(emb, sets, p).items():
                rows.append({"model": name + (f" +whiten{dim}" if dim else ""), "system": system, **e.metrics})
        if args.scores:
            score_rows.append(
                {"model": name, "system": "similarity", **ev.evaluate_score(emb, sets, params, "similarity")}
            )
            for kind, options in SCORE_OPTIONS:
                label = kind + "(" + ",".join(f"{k}={v}" for k, v in options.items()) + ")"
                score_rows.append(
                    {"model": name, "system": label, **ev.evaluate_score(emb, sets, params, kind, **options)}
                )
    counts = sets["collection"]["role"].value_counts().to_dict()
    text = [
        f"Collection: {counts}; calibration non-landmarks: {len(sets['calibration'])}; "
        f"database photos: {len(sets['database'])}; non-landmark train photos: {len(sets['negatives'])}.",
        "",
        ev.table(rows),
    ]
    if score_rows:
        text += ["", "Acceptance scores (landmark.retrieval.rejection), centroid recognizer:", "", ev.table(score_rows)]
    return "\n".join(text) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", type=Path, default=REAL)
    ap.add_argument("--work", type=Path, default=Path("artifacts/real_world"))
    ap.add_argument("--params", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/real_results.md"))
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--parts", type=int, default=3, help="curriculum parts")
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"frozen and any of {sorted(VARIANTS)}")
    ap.add_argument("--save-model", type=Path, default=None)
    ap.add_argument("--models", type=Path, default=None, help="evaluate saved variants instead of training")
    ap.add_argument("--bundle", type=Path, default=None, help="train only, on a bundle's train split")
    ap.add_argument("--export-bundle", type=Path, default=None)
    ap.add_argument("--time-budget", type=float, default=0.0, help="seconds; 0 = no limit")
    ap.add_argument("--scores", action="store_true", help="also the alternative acceptance scores")
    ap.add_argument("--whiten-dims", default="0", help="index.whiten_dim values to evaluate, e.g. 0,128")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    names = [v for v in args.variants.split(",") if v and v != "frozen"]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {sorted(VARIANTS)}")
    if args.bundle is not None:
        if args.save_model is None:
            raise SystemExit("--bundle trains only: give --save-model")
        train_all(args, read_bundle(args.bundle), names, save_half_only=True)
        return
    from landmark.evaluation.real_world import build_real_world

    world = build_real_world(args.data, args.work, seed=args.seed)
    if args.export_bundle is not None:
        export_bundle(world, args.export_bundle)
        return
    models = load_models(args.models, names) if args.models else train_all(args, world, names, False)
    command = "python -m landmark.experiments.real_photos " + " ".join(sys.argv[1:] if argv is None else argv)
    body = evaluate_all(args, world, models)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"Command: `{command}` (device {args.device})\n\n{body}")
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
