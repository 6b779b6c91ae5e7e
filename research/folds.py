"""Leave-landmarks-out folds on the real photos: `python -m research.folds --work DIR
--out docs/real_results_folds.md [--folds 5] [--epochs N] [--train-cap N] [--variant NAME]`.

Landmarks: every landmark of ../shared/data/real-landmarks and ../shared/data/more-landmarks (each
skipped when absent). Fold f holds the landmarks assigned to f out of training and the index (split
`unknown`: must be rejected); each landmark is unknown in exactly one fold. The known landmarks' photos
are split per landmark, seeded, into `query` (held out) and `train` (database; training uses at most
`--train-cap` of them per landmark).

Non-landmarks are real photos only: crops of the photographs of Debian wallpaper packages (fetched
with `apt-get download` into `--cache` when absent, extracted with dpkg-deb; never the packages
reserved for the independent evaluation) and of scikit-image's sample photos. They are split by
SOURCE photo (exact shares, per family) into train (the softmax's non-landmark class), calibration
(the threshold) and query (distractors), so no photo's crops appear in two splits.

Per fold: the frozen backbone (embedded once for all folds) and one trained variant
(research.train_real, the product's curriculum loop), each as recognizer + single-centroid +
nearest-photo systems (research.evaluate_real). The doc reports mean and std over folds.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from landmark.data.manifest import (
    NON_LANDMARK,
    SPLIT_CALIBRATION,
    SPLIT_QUERY,
    SPLIT_TRAIN,
    SPLIT_UNKNOWN,
)
from landmark.params import Params, VerificationParams, load_params, with_overrides

log = logging.getLogger("research.folds")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = ("real-landmarks", "more-landmarks")
# the only Debian packages used: vetted photographs with a known licence (the rest of these packages is
# abstract art); the packages reserved for the independent evaluation are never among them
WALLPAPERS = {"mate-backgrounds": "usr/share/backgrounds/mate/nature/*.jpg"}
# every Debian package a study may fetch photos from: WALLPAPERS and research.gcompris_photos' package
PHOTO_PACKAGES = (*WALLPAPERS, "gcompris-qt-data")
COLUMNS = ("image_id", "path", "landmark", "split", "source")
METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1")
EXTRA = ("fpr_non_landmark", "fpr_unknown")
TARGETS = {"gap": 0.90, "sensitivity_at_fpr_1pct": 0.80, "sensitivity_at_fpr_0_1pct": 0.60, "accuracy_at_1": 0.95}


@dataclass(frozen=True)
class Package:
    """A Debian package the non-landmark photos come from."""

    name: str
    version: str
    licences: tuple[str, ...]
    root: Path


def chosen_folds(only: str, folds: int) -> list[int]:
    """--only-folds "0,3" -> [0, 3] ("" -> every fold); a fold outside 0..folds-1 exits, naming it."""
    try:
        chosen = [int(f) for f in only.split(",") if f.strip()] or list(range(folds))
    except ValueError:
        raise SystemExit(f"--only-folds must be a comma list of fold numbers, got {only!r}") from None
    bad = [f for f in chosen if not 0 <= f < folds]
    if bad:
        raise SystemExit(f"--only-folds: fold(s) {bad} outside 0..{folds - 1}")
    return chosen


def assign_folds(groups: list[list[str]], folds: int, seed: int) -> dict[str, int]:
    """Landmark -> fold 0..folds-1. Each group (e.g. one dataset's landmarks) is shuffled (seeded) and
    dealt round-robin, continuing where the previous group stopped, so every fold gets landmarks of
    every group and fold sizes differ by at most one."""
    names = [n for g in groups for n in g]
    if len(set(names)) != len(names):
        raise ValueError("a landmark appears in two groups")
    if not 1 < folds <= len(names):
        raise ValueError(f"--folds must be in 2..{len(names)} (landmarks), got {folds}")
    rng = np.random.default_rng(seed)
    out: dict[str, int] = {}
    for group in groups:
        for name in rng.permutation(sorted(group)).tolist():
            out[str(name)] = len(out) % folds
    return out


def split_sources(sources: pd.Series, shares: tuple[float, float], seed: int) -> np.ndarray:
    """(N,) train | calibration | query per row, drawn per distinct source with exact counts: the
    shuffled sources' first round(shares[0]*n) train, the next round(shares[1]*n) calibration, the rest
    query. Crops of one source photo always share a split."""
    names = np.random.default_rng(seed).permutation(sorted(sources.unique())).tolist()
    n_train = int(round(shares[0] * len(names)))
    n_cal = int(round(shares[1] * len(names)))
    lookup = {n: SPLIT_TRAIN if i < n_train else SPLIT_CALIBRATION if i < n_train + n_cal else SPLIT_QUERY
              for i, n in enumerate(names)}
    return sources.map(lookup).to_numpy(dtype=object)


def split_landmark_photos(rows: pd.DataFrame, query_share: float, seed: int) -> np.ndarray:
    """(N,) query | train per landmark photo: per landmark (seeded by the landmark's name), the
    shuffled photos' first round(query_share*n) are held out."""
    out = np.empty(len(rows), dtype=object)
    for name, idx in rows.groupby("landmark").indices.items():
        salt = int.from_bytes(str(name).encode()[:8].ljust(8, b"\0"), "little") % (2**31)
        order = np.random.default_rng([seed, salt]).permutation(len(idx))
        n_query = int(round(query_share * len(idx)))
        out[idx[order[:n_query]]] = SPLIT_QUERY
        out[idx[order[n_query:]]] = SPLIT_TRAIN
    return out


def fold_world(landmarks: pd.DataFrame, non: pd.DataFrame, fold_of: dict[str, int], fold: int,
               query_share: float, shares: tuple[float, float], seed: int) -> pd.DataFrame:
    """The split manifest of one fold (COLUMNS; non-landmark rows need `family` for per-family splits)."""
    lm = landmarks.copy()
    split = split_landmark_photos(lm, query_share, seed)
    lm["split"] = np.where(lm["landmark"].map(fold_of) == fold, SPLIT_UNKNOWN, split)
    nl = non.copy()
    nl["split"] = ""
    for i, (_, idx) in enumerate(sorted(nl.groupby("family").indices.items())):
        nl.loc[nl.index[idx], "split"] = split_sources(nl["source"].iloc[idx], shares, seed * 1000 + fold * 10 + i)
    world = pd.concat([lm[list(COLUMNS)], nl[list(COLUMNS)]], ignore_index=True)
    if world["path"].duplicated().any():
        raise ValueError("a photo appears twice in a fold's world")
    return world


def cap_train(world: pd.DataFrame, cap: int, seed: int, rest: str = "database_only") -> pd.DataFrame:
    """The world with at most `cap` train photos per landmark left in split train (a seeded subset; the
    others get split `rest`); cap 0 = all."""
    if cap <= 0:
        return world
    out = world.copy()
    train = out[(out["split"] == SPLIT_TRAIN) & (out["landmark"] != NON_LANDMARK)]
    rng = np.random.default_rng(seed)
    for _, idx in train.groupby("landmark").indices.items():
        if len(idx) > cap:
            out.loc[train.index[rng.permutation(idx)[cap:]], "split"] = rest
    return out


def read_landmarks(data: list[Path]) -> tuple[pd.DataFrame, list[list[str]]]:
    """Rows (image_id, path [absolute], landmark, source) of the datasets present + their landmark
    names per dataset; a missing dataset is skipped with a warning."""
    frames, groups = [], []
    for folder in data:
        manifest = folder / "manifest.csv"
        if not manifest.is_file():
            log.warning("%s absent: its landmarks are skipped", manifest)
            continue
        rows = pd.read_csv(manifest, dtype=str)
        rows["path"] = [str((folder / p).resolve()) for p in rows["path"]]
        rows["source"] = folder.name + ":" + rows["image_id"]
        frames.append(rows)
        groups.append(sorted(rows["landmark"].unique()))
    if not frames:
        raise SystemExit(f"no landmark photos: none of {[str(d) for d in data]} has a manifest.csv")
    return pd.concat(frames, ignore_index=True), groups


def fetch_package(name: str, cache: Path) -> Package:
    """The package extracted under cache/<name> (apt-get download + dpkg-deb -x when not there yet)."""
    if name not in PHOTO_PACKAGES:
        raise ValueError(f"{name} is not a vetted photo package ({sorted(PHOTO_PACKAGES)})")
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if not found:
        log.info("apt-get download %s", name)
        subprocess.run(["apt-get", "download", name], cwd=debs, check=True)
        found = sorted(debs.glob(f"{name}_*.deb"))
    deb, root = found[-1], cache / name
    if not root.is_dir():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    copyright_file = root / "usr" / "share" / "doc" / name / "copyright"
    text = copyright_file.read_text(errors="replace") if copyright_file.is_file() else ""
    licences = tuple(sorted(set(re.findall(r"^License:\s*(\S+)", text, flags=re.M)))) or ("unknown",)
    return Package(name, version, licences, root)


def crops(files: list[Path], out: Path, per_photo: int, seed: int, size: int, prefix: str) -> pd.DataFrame:
    """`per_photo` random square crops (side 30-100% of the shorter side, resized to `size`) of each
    photo -> rows (image_id, path, source); written once, reused when present."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for file in files:
        image = None
        for i in range(per_photo):
            side_share, fx, fy = rng.uniform(0.3, 1.0), rng.random(), rng.random()
            path = out / f"{file.stem}_{i}.png"
            if not path.is_file():
                image = image or Image.open(file).convert("RGB")
                w, h = image.size
                side = int(min(w, h) * side_share)
                x, y = int(fx * (w - side)), int(fy * (h - side))
                image.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BICUBIC).save(path)
            rows.append({"image_id": f"{prefix}-{file.stem}-{i}", "path": str(path.resolve()),
                         "source": f"{prefix}:{file.name}"})
    return pd.DataFrame(rows)


def non_landmarks(cache: Path, work: Path, per_wallpaper: int, per_skimage: int, seed: int,
                  size: int) -> tuple[pd.DataFrame, list[Package]]:
    """Real non-landmark crops (wallpaper photos + scikit-image photos) with `family` and `source`."""
    from research.real_world import skimage_crops

    frames, packages = [], []
    for name, pattern in WALLPAPERS.items():
        package = fetch_package(name, cache)
        files = sorted(package.root.glob(pattern))
        if not files:
            raise ValueError(f"{name} {package.version}: no photo matches {pattern}")
        packages.append(package)
        frames.append(crops(files, work / "nonlandmarks" / name, per_wallpaper, seed, size, name).assign(family=name))
    sk = skimage_crops(work / "nonlandmarks" / "skimage", per_skimage, seed=seed, size=size)
    frames.append(sk.assign(path=[str(Path(p).resolve()) for p in sk["path"]], family="skimage"))
    return pd.concat(frames, ignore_index=True).assign(landmark=NON_LANDMARK), packages


def frozen_embeddings(world_rows: pd.DataFrame, params: Params) -> dict[str, np.ndarray]:
    """Frozen-backbone embeddings of every photo, by absolute path (computed once for all folds,
    through the embedding cache)."""
    from landmark.evaluation.systems import embed_sets
    from landmark.models.embedder import frozen_embedder

    rows = world_rows.drop_duplicates("path").reset_index(drop=True)
    emb = embed_sets(frozen_embedder(params.backbone), {"all": rows}, Path("/"), params, use_cache=True)["all"]
    return dict(zip(rows["path"], emb, strict=True))


def verification_rows(args: argparse.Namespace, model: str, emb: dict[str, np.ndarray],
                      sets: dict[str, pd.DataFrame], params: Params, cache: dict) -> list[dict[str, object]]:
    """`recognizer+verification` (research.verify_real, index.verification with --verify-set
    overrides) beside a model's plain systems; with --sweep also its grid (kept in args.sweeps)."""
    from research.verify_real import evaluate_verification, sweep

    if not args.verification:
        return []
    vparams = verification_params(args, params)
    if args.sweep:
        args.sweeps.append(sweep(emb, sets, params, vparams, cache).assign(model=model, fold=args.fold))
        pd.concat(args.sweeps).to_csv(args.work / "verification_sweep_folds.csv", index=False)  # survives a stop
    metrics = evaluate_verification(emb, sets, params, vparams, cache)
    return [{"model": model, "system": "recognizer+verification", **metrics}]


def verification_params(args: argparse.Namespace, params: Params) -> VerificationParams:
    """params.index.verification with the --verify-set KEY=VALUE overrides (typed as the field)."""
    import dataclasses

    vp = params.index.verification
    changes: dict[str, object] = {}
    for item in args.verify_set:
        key, _, raw = item.partition("=")
        kind = type(getattr(vp, key))
        changes[key] = raw.lower() == "true" if kind is bool else kind(raw)
    return dataclasses.replace(vp, **changes)  # type: ignore[arg-type]  # typed per field above


def run_fold(args: argparse.Namespace, world: pd.DataFrame, params: Params, frozen: dict[str, np.ndarray],
             cache: dict | None = None) -> tuple[list[dict[str, object]], dict[str, int]]:
    """Metrics rows (model, system, metrics) and counts of one fold; cache: local features kept
    across folds (--verification)."""
    from research import evaluate_real as ev
    from research.train_real import VARIANTS, difficulty_parts, train_rows, train_variant

    cache = {} if cache is None else cache

    world = cap_train(world, args.db_cap, args.seed, rest="unused")  # the database: at most db_cap a landmark
    sets = ev.world_sets(world, params)
    rows: list[dict[str, object]] = []
    emb_frozen = {k: np.stack([frozen[p] for p in s["path"]]) if len(s) else np.zeros((0, 1), np.float32)
                  for k, s in sets.items()}
    for system, e in ev.evaluate_model(emb_frozen, sets, params, main="recognizer").items():
        rows.append({"model": "frozen", "system": system, **e.metrics})
    rows += verification_rows(args, "frozen", emb_frozen, sets, params, cache)
    if args.epochs > 0:
        train_world = cap_train(world, args.train_cap, args.seed)
        variant = VARIANTS[args.variant]
        lm_train = train_rows(train_world, non_landmark=False)
        # curriculum parts from the frozen features already computed (research.train_real.frozen_parts' rule)
        parts = difficulty_parts(np.stack([frozen[p] for p in lm_train["path"]]),
                                 lm_train["landmark"].to_numpy(dtype=object), args.parts if variant.curriculum else 1)
        model, _ = train_variant(variant, train_world, params, parts, args.epochs, args.lr, args.device)
        emb = ev.embed_world(model.cpu(), sets, params)
        for system, e in ev.evaluate_model(emb, sets, params).items():
            rows.append({"model": args.variant, "system": system, **e.metrics})
        rows += verification_rows(args, args.variant, emb, sets, params, cache)
    roles = sets["collection"]["role"].value_counts().to_dict()
    counts = {
        "known landmarks": int(sets["database"]["landmark"].nunique()),
        "unknown landmarks": int(world.loc[world["split"] == SPLIT_UNKNOWN, "landmark"].nunique()),
        "database photos": len(sets["database"]),
        "trained photos": int(((cap_train(world, args.train_cap, args.seed)["split"] == SPLIT_TRAIN)
                               & (world["landmark"] != NON_LANDMARK)).sum()) if args.epochs > 0 else 0,
        "non-landmark train": len(sets["negatives"]),
        "calibration": len(sets["calibration"]),
        "query known": int(roles.get("known", 0)),
        "query unknown": int(roles.get("unknown", 0)),
        "query non-landmark": int(roles.get("non_landmark", 0)),
    }
    return rows, counts


def summary_table(per_fold: pd.DataFrame) -> str:
    """mean ± std (over folds, ddof=1) per (model, system)."""
    keys = METRICS + EXTRA
    lines = ["| model | system | " + " | ".join(keys) + " |", "| --- | --- |" + " --- |" * len(keys)]
    for (model, system), g in per_fold.groupby(["model", "system"], sort=False):
        vals = " | ".join(f"{g[k].mean():.3f} ± {g[k].std(ddof=1):.3f}" for k in keys)
        lines.append(f"| {model} | {system} | {vals} |")
    return "\n".join(lines)


def fold_table(per_fold: pd.DataFrame) -> str:
    """One row per (fold, model, system)."""
    keys = METRICS + EXTRA
    lines = ["| fold | model | system | " + " | ".join(keys) + " |", "| --- | --- | --- |" + " --- |" * len(keys)]
    for _, r in per_fold.iterrows():
        lines.append(f"| {r['fold']} | {r['model']} | {r['system']} | "
                     + " | ".join(f"{float(r[k]):.3f}" for k in keys) + " |")
    return "\n".join(lines)


def targets_text(per_fold: pd.DataFrame) -> str:
    """Which targets (mean over folds) each system meets."""
    lines = []
    for (model, system), g in per_fold.groupby(["model", "system"], sort=False):
        parts = [f"{k} {g[k].mean():.3f} {'>=' if g[k].mean() >= t else '<'} {t} "
                 f"({'met' if g[k].mean() >= t else 'NOT met'})" for k, t in TARGETS.items()]
        lines.append(f"- {model} / {system}: " + "; ".join(parts))
    return "\n".join(lines)


def verification_text(args: argparse.Namespace, per_fold: pd.DataFrame) -> str:
    """The verification section: settings, cost per fold, the sweep's best settings (when run)."""
    import dataclasses

    ver = per_fold[per_fold["system"] == "recognizer+verification"]
    if ver.empty:
        return ""
    settings = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(verification_params(args, load_params())).items())
    lines = ["| fold | model | ms_per_query | verified_share | pairs_per_query |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['fold']} | {r['model']} | {r['ms_per_query']:.1f} | {r['verified_share']:.3f} | "
              f"{r['pairs_per_query']:.2f} |" for _, r in ver.iterrows()]
    text = f"""
## Geometric verification (research.verify_real)

`recognizer+verification`: the `recognizer` row's centroid index, its top candidate landmarks verified
(landmark.retrieval.verified_search) against their verify_per_landmark reference photos nearest the
query's embedding (photos_per_landmark stored per landmark, spread over its views); threshold calibrated
on the calibration crops with the verified score. Settings (params.yaml index.verification with
--verify-set): {settings}. Cost: local feature extraction + matching of a photo (the first 200
collection photos, one thread, on this shared machine; the CNN pass is not included):

{chr(10).join(lines)}
"""
    if args.sweeps:
        from research.verify_real import write_sweep

        best = write_sweep(args.sweeps, args.work / "verification_sweep.csv").head(12)
        text += ("\nSweep (research.verify_real.GRID, mean over folds, best sensitivity at FPR 1% first; "
                 "chosen on these same folds, so optimistic; full table in WORK/verification_sweep.csv):\n\n"
                 + best.to_markdown(index=False, floatfmt=".3f") + "\n")
    return text


def document(args: argparse.Namespace, command: str, fold_of: dict[str, int], counts: list[dict[str, int]],
             per_fold: pd.DataFrame, packages: list[Package], non: pd.DataFrame, seconds: float) -> str:
    """The markdown page."""
    from importlib.metadata import version

    folds = "\n".join(f"- fold {f}: " + ", ".join(sorted(n for n, k in fold_of.items() if k == f))
                      for f in range(args.folds))
    count_lines = ["| " + " | ".join(counts[0]) + " |", "|" + " --- |" * len(counts[0])]
    count_lines += ["| " + " | ".join(str(c[k]) for k in counts[0]) + " |" for c in counts]
    fam = non.groupby("family").agg(photos=("source", "nunique"), crops=("path", "size"))
    pkg_lines = [f"- Debian `{p.name}` {p.version} (licence from its copyright file: {', '.join(p.licences)}): "
                 f"{fam.loc[p.name, 'photos']} photographs ({WALLPAPERS[p.name]}), "
                 f"{fam.loc[p.name, 'crops']} crops" for p in packages]
    pkg_lines.append(f"- scikit-image {version('scikit-image')} sample photos (research.real_world.SKIMAGE_PHOTOS; "
                     f"public domain / CC0 / no known copyright restrictions per the docstrings of "
                     f"skimage.data): {fam.loc['skimage', 'photos']} photos, {fam.loc['skimage', 'crops']} crops")
    schedule = (f"variant `{args.variant}` (research.train_real), {args.epochs} epochs in total over "
                f"{args.parts} curriculum stage(s) when the variant is a curriculum one (stage k at lr {args.lr}/k), "
                f"trained on at most {args.train_cap} of the database photos per landmark (0 = all), "
                f"params.yaml otherwise "
                f"(batch, loss weights, trainable_blocks, 128 px), device {args.device}"
                if args.epochs > 0 else "no training (--epochs 0): frozen backbone only")
    return f"""# Leave-landmarks-out folds on the real photos (generated by research.folds)

Command: `{command}` ({seconds / 60:.1f} min on this machine)

Protocol: {args.folds} folds over {len(fold_of)} real landmarks (real-landmarks + more-landmarks, read from
../shared at run time, never copied). In fold f the landmarks of fold f are left out of training and
the index: all their photos are in the collection and must be rejected. Every other landmark's photos are split
per landmark (seed {args.seed}) into {args.query_share:.0%} held-out queries and the rest database
(+ training), the database capped at {args.db_cap} photos a landmark (seeded; 0 = all; the rest unused).
The emulated collection (landmark.evaluation.collection, evaluate.landmark_share
{load_params().evaluate.landmark_share}, at least {load_params().evaluate.min_landmark_queries} known queries) holds
the subsampled known queries, every unknown-landmark photo and the non-landmark query crops.
Must-reject = unknown landmarks + real non-landmarks. Non-landmarks are crops of real photographs, split by
source photo (exact shares {args.nl_shares}, train / calibration, rest query, per family, reseeded per fold) so
no photo's crops are in two splits. Systems (research.evaluate_real): `recognizer` (several centroids a
landmark, faiss, threshold at index.target_fpr on the calibration crops), `baseline_single_centroid`,
`baseline_nearest_photo`; `frozen` = the same three on the frozen ImageNet backbone. Sensitivity at
FPR x: threshold set on the collection's own must-reject photos. fpr_non_landmark / fpr_unknown: share
accepted at the calibrated threshold. Training: {schedule}.

Landmarks left out per fold:

{folds}

Non-landmark sources:

{chr(10).join(pkg_lines)}

Counts per fold:

{chr(10).join(count_lines)}

## Mean ± std over folds (std with ddof=1)

{summary_table(per_fold)}

## Targets (mean over folds)

{targets_text(per_fold)}

## Per fold

{fold_table(per_fold)}
{verification_text(args, per_fold)}"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", default=[SHARED / d for d in DATASETS])
    ap.add_argument("--work", type=Path, default=Path("artifacts/folds"))
    ap.add_argument("--cache", type=Path, default=Path(".landmark/cache/nonlandmarks"),
                    help="downloaded and extracted Debian wallpaper packages")
    ap.add_argument("--params", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("docs/real_results_folds.md"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", default="", help="comma list of folds to run (default all)")
    ap.add_argument("--variant", default="softmax_centre")
    ap.add_argument("--epochs", type=int, default=6, help="total epochs; 0 = frozen backbone only")
    ap.add_argument("--parts", type=int, default=3, help="curriculum stages")
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--train-cap", type=int, default=60, help="trained photos per landmark; 0 = all")
    ap.add_argument("--db-cap", type=int, default=0, help="database photos per landmark; 0 = all")
    ap.add_argument("--query-share", type=float, default=0.3)
    ap.add_argument("--nl-shares", type=float, nargs=2, default=(0.3, 0.35))
    ap.add_argument("--per-wallpaper", type=int, default=12, help="crops per wallpaper photo")
    ap.add_argument("--per-skimage", type=int, default=8, help="crops per skimage photo")
    ap.add_argument("--image-size", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--verification", action="store_true",
                    help="add recognizer+verification rows (params index.verification, enabled or not)")
    ap.add_argument("--verify-set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="override index.verification keys for --verification")
    ap.add_argument("--sweep", action="store_true",
                    help="with --verification: also score research.verify_real.GRID (WORK/verification_sweep.csv)")
    args = ap.parse_args(argv)
    args.sweeps = []
    return args


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    import torch

    from research.train_real import VARIANTS

    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    if args.variant not in VARIANTS:
        raise SystemExit(f"unknown variant {args.variant}; choose from {sorted(VARIANTS)}")
    began = time.perf_counter()
    params = load_params(args.params) if args.params else load_params()
    params = with_overrides(params, "backbone", image_size=args.image_size)
    params = with_overrides(params, "embed", cache_dir=str(args.work / "cache" / "embeddings"))
    params = with_overrides(params, "train", num_workers=1, seed=args.seed)
    landmarks, groups = read_landmarks(args.data)
    fold_of = assign_folds(groups, args.folds, args.seed)
    non, packages = non_landmarks(args.cache, args.work, args.per_wallpaper, args.per_skimage, args.seed,
                                  args.image_size)
    frozen = frozen_embeddings(pd.concat([landmarks, non], ignore_index=True), params)
    only = chosen_folds(args.only_folds, args.folds)
    rows, counts = [], []
    cache: dict = {}  # local features of --verification, shared by the folds
    for fold in only:
        log.info("fold %d: unknown %s", fold, sorted(n for n, f in fold_of.items() if f == fold))
        world = fold_world(landmarks, non, fold_of, fold, args.query_share, tuple(args.nl_shares), args.seed)
        args.fold = fold
        fold_rows, fold_counts = run_fold(args, world, params, frozen, cache)
        rows += [{"fold": fold, **r} for r in fold_rows]
        counts.append({"fold": fold, **fold_counts})
        pd.DataFrame(rows).to_csv(args.work / "fold_metrics.csv", index=False)  # partial results survive a stop
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    command = "python -m research.folds " + " ".join(sys.argv[1:] if argv is None else argv)
    text = document(args, command, fold_of, counts, pd.DataFrame(rows), packages, non,
                    time.perf_counter() - began)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
