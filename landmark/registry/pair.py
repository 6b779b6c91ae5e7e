"""The recognizer and its index are registered as a pair, or the half that exists cannot be promoted.

Each version is created with its lineage tags and `pair.status=incomplete` in the same registry call
(`mlflow.register_model(..., tags=...)`), so no version ever exists untagged. Only once both versions
exist, are cross-tagged and carry their digests and metrics does `complete_pair` set
`pair.status=complete` (the index first, the recognizer last). The gate and `landmark promote` refuse a
version whose pair is incomplete (promotion.refuse_half_pair).

Why mark rather than delete the first half when the second fails: the failure is usually the MLflow
server being unreachable, and then a delete fails too; the mark is written with the version itself,
so it cannot be lost. And a retry (the flow's task retries, or the next retrain) finds the half by its
lineage key and completes the same pair instead of uploading the recognizer again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

import mlflow
from mlflow import MlflowClient
from mlflow.models.model import ModelInfo

from landmark.registry.mlflow_names import mlflow_names

log = logging.getLogger(__name__)
PAIR_TAG = "pair.status"
INCOMPLETE, COMPLETE = "incomplete", "complete"


def existing_version(client: MlflowClient, name: str, lineage_key: str) -> str | None:
    """The newest version of `name` registered from the same lineage (so a rerun registers once)."""
    found = client.search_model_versions(f"name='{name}' and tags.`lineage.key`='{lineage_key}'")
    return str(max(int(v.version) for v in found)) if found else None


def register_half(info: ModelInfo, name: str, tags: Mapping[str, object]) -> str:
    """Register a logged model as a new version of `name`, created with `tags` and pair.status=incomplete."""
    tagged = {k: str(v) for k, v in mlflow_names({**tags, PAIR_TAG: INCOMPLETE}).items()}
    version = mlflow.register_model(info.model_uri, name, tags=tagged)
    log.info("registered %s v%s (pair incomplete)", name, version.version)
    return str(version.version)


def register_pair(
    client: MlflowClient,
    names: tuple[str, str],
    lineage_tags: Mapping[str, str],
    log_models: tuple[Callable[[], ModelInfo], Callable[[], ModelInfo]],
    start_run: Callable[[], AbstractContextManager[object]] | None = None,
) -> tuple[str, str, bool]:
    """Both versions of a lineage (`lineage_tags["lineage.key"]`), registering the missing ones.

    names: (recognizer, index); log_models: functions that log each model (in the active run) and
    return its ModelInfo, called only for a missing version; start_run: the run they log into, opened
    only when something is missing (default: the caller's active run). Returns (first version, second
    version, whether anything new was registered). Raises whatever the registry raises: the half
    already registered stays `incomplete` and a rerun completes it."""
    key = lineage_tags["lineage.key"]
    versions = [existing_version(client, name, key) for name in names]
    missing = [i for i, v in enumerate(versions) if v is None]
    for i in set(range(len(names))) - set(missing):
        log.info("%s v%s of this lineage exists: reused", names[i], versions[i])
    if missing:
        with start_run() if start_run is not None else contextlib.nullcontext():
            for i in missing:
                versions[i] = register_half(log_models[i](), names[i], lineage_tags)
    first, second = versions
    assert first is not None and second is not None
    return first, second, bool(missing)


def complete_pair(client: MlflowClient, names: tuple[str, str], versions: tuple[str, str]) -> None:
    """Cross-tag the two versions and mark them complete, the index first, the recognizer last (the
    recognizer is what gets promoted: it is complete only when its index is)."""
    (first_name, second_name), (first, second) = names, versions
    client.set_model_version_tag(second_name, second, "recognizer_version", first)
    client.set_model_version_tag(first_name, first, "index_version", second)
    client.set_model_version_tag(second_name, second, PAIR_TAG, COMPLETE)
    client.set_model_version_tag(first_name, first, PAIR_TAG, COMPLETE)


def pair_status(client: MlflowClient, name: str, version: str) -> str | None:
    """The version's pair.status tag (None for versions registered before pairs were tracked)."""
    return client.get_model_version(name, version).tags.get(PAIR_TAG)
