"""The trained network at several training and test sizes on the leave-landmarks-out folds
(research.folds): `python -m research.test_resolution --work artifacts/folds --out
docs/real_results_resolution.md [--train-sizes 128 224] [--sizes 128 224]`.

Touvron et al. 2019 (FixRes, arXiv 1906.06423): a CNN trained on random-resized crops at size s sees
objects larger than at test time with a centre crop at s, so testing at a larger size often helps.
The frozen ImageNet backbone already gained from 224 px (docs/real_results_backbones.md); this asks
what the trained network (the product's curriculum, research.train_real) gains from training and
from embedding at each size, with the product's default index (params.index: views, landmark mean,
impostor centring) and its baselines. One CNN pass per photo at each size (no flip, no multi-scale).

Per fold and training size the network is trained once (same recipe and seed as research.folds) and
kept under `--work/models`; each (training size, test size)'s embeddings are kept as
`--work/trained_fold{F}_{variant}_{E}ep[_train{T}px][_{S}px].npz` (the 128 / 128 file is the one
research.folds / research.centroid_study wrote, reused when present), timings and checks in
`--work/resolution_runs.json`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landmark.params import Params, with_overrides
from research.fold_study import EVALUATED, fold_study, study_parser

log = logging.getLogger("research.test_resolution")
METRICS = ("gap", "sensitivity_at_fpr_1pct", "sensitivity_at_fpr_0_1pct", "accuracy_at_1")
SYSTEMS = ("recognizer", "baseline_single_centroid", "baseline_nearest_photo")
KEYS = (*METRICS, "fpr_non_landmark", "fpr_unknown")
PROBE = 64  # database photos re-embedded to check that saved embeddings come from the same network


def embeddings_file(work: Path, fold: int, variant: str, epochs: int, train_size: int, size: int,
                    default_size: int, tag: str = "") -> Path:
    """Where the embeddings of the network trained at `train_size` px, embedding at `size` px, are kept
    (the default size's network at the default size: the name research.centroid_study uses); `tag` names
    a network trained otherwise (trained_model's `tag`: other rows, backbone or seed)."""
    trained = "" if train_size == default_size else f"_train{train_size}px"
    tested = "" if size == train_size else f"_{size}px"
    return work / f"trained_fold{fold}_{variant}_{epochs}ep{tag}{trained}{tested}.npz"


def saved_embeddings(args: argparse.Namespace, default_size: int, fold: int) -> dict[str, np.ndarray]:
    """The EVALUATED sets' embeddings kept by this module for the network trained at args.train_size px,
    embedding at args.size px (with args.work, args.variant, args.epochs); a clear exit when absent."""
    saved = embeddings_file(args.work, fold, args.variant, args.epochs, args.train_size, args.size, default_size)
    if not saved.is_file():
        raise SystemExit(f"{saved}: no saved trained embeddings; run research.test_resolution first")
    with np.load(saved) as z:
        return {k: z[k] for k in EVALUATED}


def add_network_arguments(ap: argparse.ArgumentParser, train_size: int | None, size: int | None) -> None:
    """--train-size / --size: which of this module's saved networks a study reads (saved_embeddings)."""
    ap.add_argument("--train-size", type=int, default=train_size,
                    help=f"training size (px) of research.test_resolution's saved network (default {train_size})")
    ap.add_argument("--size", type=int, default=size,
                    help=f"size (px) its saved embeddings were made at (default {size})")


def label(train_size: int, size: int) -> str:
    """`train128@224`: trained at 128 px, embedding at 224 px."""
    return f"train{train_size}@{size}"


def embed_at(model, sets: dict[str, pd.DataFrame], params: Params, size: int) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Each set embedded by `model` with its timm eval transform at `size` px."""
    from research import evaluate_real as ev

    model.data_config = {**model.data_config, "input_size": [3, size, size]}
    return ev.embed_world(model, sets, params)


class LazyNetwork:
    """A fold's network, built (trained or loaded) on first use only, the time it took kept in
    `seconds[what]`; `model` stays None when every embedding was reused."""

    def __init__(self, build: Callable[[], Any], seconds: dict[str, float], what: str) -> None:
        self.build, self.seconds, self.what = build, seconds, what
        self.model: Any = None

    def __call__(self) -> Any:
        if self.model is None:
            t0 = time.perf_counter()
            self.model = self.build()
            self.seconds[self.what] = time.perf_counter() - t0
        return self.model


def saved_or_embedded(saved: Path, network: LazyNetwork, sets: dict[str, pd.DataFrame], params: Params, size: int,
                      seconds: dict[str, float], what: str) -> dict[str, np.ndarray]:
    """The EVALUATED sets' embeddings at `size` px: read from `saved` when there, else made by `network`
    (timed in `seconds[what]`) and saved there."""
    if saved.is_file():
        with np.load(saved) as z:
            return {k: z[k] for k in EVALUATED}
    model = network()
    t0 = time.perf_counter()
    emb = embed_at(model, {k: sets[k] for k in EVALUATED}, params, size)
    seconds[what] = time.perf_counter() - t0
    np.savez(saved, **emb)  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
    return emb


def trained_model(args: argparse.Namespace, world: pd.DataFrame, params: Params, frozen: dict[str, np.ndarray],
                  fold: int, train_size: int, extra: pd.DataFrame | None = None,
                  tag: str = ""):  # type: ignore[no-untyped-def]
    """The fold's network trained at `train_size` px: loaded from --work/models when there, else trained
    and saved there. `extra`: training-only rows (split train, in `frozen` too) added after the cap. `tag`
    names a network trained otherwise than research.folds' (extra rows, another backbone or train.seed in
    `params`), so it never loads or overwrites that one."""
    from research import folds as fl
    from research.train_real import VARIANTS, difficulty_parts, load_half, save_half, train_rows, train_variant

    trained = "" if train_size == params.backbone.image_size else f"_train{train_size}px"
    path = args.work / "models" / f"fold{fold}_{args.variant}_{args.epochs}ep{tag}{trained}.pt"
    if path.is_file():
        return load_half(path)
    train_world = fl.cap_train(world, args.train_cap, args.seed)
    if extra is not None:
        train_world = pd.concat([train_world, extra], ignore_index=True)
    lm = train_rows(train_world, non_landmark=False)
    parts = difficulty_parts(np.stack([frozen[p] for p in lm["path"]]), lm["landmark"].to_numpy(dtype=object),
                             args.parts)
    at_size = with_overrides(params, "backbone", image_size=train_size)  # the size train_variant trains at
    model, _ = train_variant(VARIANTS[args.variant], train_world, at_size, parts, args.epochs, args.lr, "cpu")
    save_half(model.cpu(), path, {"fold": fold, "variant": args.variant, "epochs": args.epochs,
                                  "train_size": train_size, "extra_rows": 0 if extra is None else len(extra)})
    return load_half(path)  # the float16 round trip, so a rerun from the file gives the same numbers


def remembered(path: Path, seconds: dict[str, float], checks: dict[str, float]
               ) -> tuple[dict[str, float], dict[str, float]]:
    """This run's timings and agreement checks merged over those of earlier runs (kept in `path`), so
    a rerun that reuses everything still reports what computing it took."""
    import json

    old = json.loads(path.read_text()) if path.is_file() else {"seconds": {}, "checks": {}}
    merged = {"seconds": {**old["seconds"], **seconds}, "checks": {**old["checks"], **checks}}
    path.write_text(json.dumps(merged, indent=1))
    return merged["seconds"], merged["checks"]


def mean_std_table(frame: pd.DataFrame, by: list[str]) -> str:
    """Markdown: METRICS as mean ± std (ddof 1) over folds for each `by` group, in order of appearance."""
    g = frame.groupby(by, sort=False)[list(METRICS)]
    mean, std = g.mean(), g.std(ddof=1)
    lines = ["| " + " | ".join(by) + " | " + " | ".join(METRICS) + " |", "|" + " --- |" * (len(by) + len(METRICS))]
    for key in mean.index:
        cells = " | ".join(f"{mean.loc[key, m]:.3f} ± {std.loc[key, m]:.3f}" for m in METRICS)
        lines.append("| " + " | ".join(str(k) for k in key) + f" | {cells} |")
    return "\n".join(lines)


def _against(frame: pd.DataFrame, model: str, base: str) -> str:
    """Fold by fold, `model` against `base`, each system against itself."""
    out = []
    for system in SYSTEMS:
        a = frame[(frame["model"] == model) & (frame["system"] == system)].set_index("fold")
        b = frame[(frame["model"] == base) & (frame["system"] == system)].set_index("fold")
        folds = a.index.intersection(b.index)
        if not len(folds):
            continue
        parts = []
        for m in METRICS:
            d = (a.loc[folds, m] - b.loc[folds, m]).to_numpy()
            parts.append(f"{m}: {a.loc[folds, m].mean():.3f} vs {b.loc[folds, m].mean():.3f}, >= on "
                         f"{int((d >= 0).sum())}/{len(d)} folds ({', '.join(f'{x:+.3f}' for x in d)})")
        out.append(f"- {system}: " + "; ".join(parts))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    import torch

    from research import evaluate_real as ev
    from research import folds as fl

    ap = study_parser(__doc__.split("\n")[0], "docs/real_results_resolution.md", training=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 224], help="test sizes (px)")
    ap.add_argument("--train-sizes", type=int, nargs="+", default=[128], help="training sizes (px), a network each")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    began = time.perf_counter()
    study = fold_study(args.work, args.cache, args.folds, args.seed)
    fa, params = study.options, study.params
    only = fl.chosen_folds(args.only_folds, args.folds)
    rows, checks = [], {}
    seconds: dict[str, float] = {}
    default = fa.image_size
    base_name = label(default, default)  # the product's network: trained and embedding at params' size
    for fold in only:
        world = study.world(fold)
        sets = study.sets(world)
        models = {f"frozen@{default}": study.frozen_sets(sets)}
        for train_size in args.train_sizes:
            network = LazyNetwork(partial(trained_model, args, world, params, study.frozen, fold, train_size), seconds,
                                  f"fold {fold} train{train_size} (train or load)")
            for size in args.sizes:
                saved = embeddings_file(args.work, fold, args.variant, args.epochs, train_size, size, default)
                models[label(train_size, size)] = saved_or_embedded(saved, network, sets, params, size, seconds,
                                                                    f"fold {fold} embed {label(train_size, size)}")
            model = network.model
            if model is not None and train_size == default and base_name in models:
                # the saved default embeddings (an earlier run's) must come from this same network
                fresh = embed_at(model, {"probe": sets["database"].head(PROBE)}, params, default)["probe"]
                agreement = float((fresh * models[base_name]["database"][:PROBE]).sum(1).min())
                checks[f"fold {fold}"] = agreement
                if agreement < 0.99:  # another training: re-embed, so every size comes from one network
                    log.warning("fold %d: saved %s disagrees (min cosine %.4f); re-embedding", fold, base_name,
                                agreement)
                    models[base_name] = embed_at(model, {k: sets[k] for k in EVALUATED}, params, default)
        for name, emb in models.items():
            for system, e in ev.evaluate_model(emb, sets, params).items():
                rows.append({"fold": fold, "model": name, "system": system, **e.metrics})
        pd.DataFrame(rows).to_csv(args.work / "resolution_metrics.csv", index=False)  # partial results survive
        log.info("fold %d done at %.0f s", fold, time.perf_counter() - began)
    frame = pd.DataFrame(rows)
    seconds, checks = remembered(args.work / "resolution_runs.json", seconds, checks)
    command = "python -m research.test_resolution " + " ".join(sys.argv[1:] if argv is None else argv)
    against = "\n\n".join(f"### {name} against {base_name}\n\n{_against(frame, name, base_name)}"
                          for name in frame["model"].unique() if name.startswith("train") and name != base_name)
    timing = "\n".join(f"- {k}: {v:.0f} s" for k, v in seconds.items()) or "- nothing computed yet"
    agreement_lines = "\n".join(f"- {k}: min cosine {v:.4f} over {PROBE} database photos" for k, v in checks.items())
    text = f"""# Training and test size of the trained network (generated by research.test_resolution)

Command: `{command}` ({(time.perf_counter() - began) / 60:.1f} min on this 2-core machine). Folds,
photos and collection: those of research.folds (docs/real_results_folds.md); the network: research.folds'
trained variant ({args.variant}, {args.epochs} epochs in {args.parts} curriculum stages, at most
{args.train_cap} trained photos a landmark). `trainT@S`: that network trained on T px crops, embedding
every photo once at S px (timm eval transform: shorter side to S / crop_pct, centre crop S);
`{base_name}`: research.folds' network; `frozen@{default}`: the ImageNet backbone. Systems:
`recognizer` = the product's default index (params.index), beside its one-centroid and nearest-photo
baselines on the same embeddings. Caveat: real-landmarks photos are
128 px and the non-landmark crops are made at 128 px, so at larger sizes they are upscaled; only the
more-landmarks photos (up to 256 px) carry more detail.

## Mean ± std over folds

{mean_std_table(frame, ["model", "system"])}

## Fold by fold

{against}

## Same network at every size

The saved {base_name} embeddings against the same photos embedded now by the fold's network (below 0.99 the
saved file was replaced, so that every size comes from one network):

{agreement_lines or "- nothing to check (every network and size reused)"}

## Time (when each network and embedding was computed; a rerun reuses them)

{timing}

## Per fold

{frame[['fold', 'model', 'system', *KEYS]].to_markdown(index=False, floatfmt='.3f')}
"""
    args.out.write_text(text)
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
