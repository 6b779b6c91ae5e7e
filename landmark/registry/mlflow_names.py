"""One home for the names the project sends to MLflow (metric, param and tag keys).

MLflow accepts a key only if it is made of letters, digits and `_ - . space : /`, is at most 250
characters long and is a normalised relative path (no `//`, no leading `/` or `..`, not `.`).
Keys derived from data break those rules: the validate stage counts photos per PIL mode, and the
mode of a 16-bit greyscale PNG is `I;16`, so `modes.I;16` stopped the whole stage.

`mlflow_name` maps any string to an accepted key. A key that is already accepted is returned
unchanged (so every existing metric keeps its name). Any other key has each refused character
replaced by `_` and gets a suffix `-h` + the first 8 hex digits of the sha256 of the original key:
two different raw keys (`modes.I;16`, `modes.I;16B`, `modes.I:16`, `a;b` vs `a_b`) therefore never
share a key silently, and the same raw key always gets the same key, in every run. `mlflow_names`
does the same for a whole mapping and raises `MlflowNameCollision` if two raw keys still end up on
one key (only on a sha256 prefix collision), so nothing is ever merged or overwritten quietly.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from typing import TypeVar

MAX_KEY_LENGTH = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
HASH_CHARS = 8
_ACCEPTED = re.compile(r"^[A-Za-z0-9_.\- :/]+$")  # ASCII only: MLflow's \w would also take "é"
_REFUSED_CHAR = re.compile(r"[^A-Za-z0-9_.\- :]")  # "/" is replaced too: it brings path rules
V = TypeVar("V")


class MlflowNameCollision(ValueError):
    """Two different raw keys map to one MLflow key; the message names both."""


def is_accepted(name: str) -> bool:
    """True when MLflow accepts `name` as a metric, param or tag key as it is."""
    if not name or len(name) > MAX_KEY_LENGTH or not _ACCEPTED.match(name):
        return False
    normalised = posixpath.normpath(name)
    return normalised == name and normalised != "." and not normalised.startswith(("..", "/"))


def name_digest(raw: str) -> str:
    """The first HASH_CHARS hex digits of the sha256 of `raw` (UTF-8)."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]


def mlflow_name(raw: str) -> str:
    """An MLflow-accepted key for `raw`: `raw` itself when accepted, else a cleaned key + `-h<digest>`.

    Example: `modes.I;16` -> `modes.I_16-h` + name_digest("modes.I;16"); `gap` -> `gap`.
    """
    raw = str(raw)
    if is_accepted(raw):
        return raw
    cleaned = _REFUSED_CHAR.sub("_", raw)
    if cleaned.startswith("."):  # "." and ".." are not keys
        cleaned = "_" + cleaned[1:]
    suffix = f"-h{name_digest(raw)}"
    return cleaned[: MAX_KEY_LENGTH - len(suffix)] + suffix


def mlflow_names(values: Mapping[str, V]) -> dict[str, V]:
    """`values` with every key passed through `mlflow_name`; raises MlflowNameCollision on a clash."""
    out: dict[str, V] = {}
    origin: dict[str, str] = {}
    for raw, value in values.items():
        key = mlflow_name(raw)
        if key in origin and origin[key] != raw:
            raise MlflowNameCollision(
                f"MLflow key {key!r} would hold both {origin[key]!r} and {raw!r}; rename one of them"
            )
        origin[key] = raw
        out[key] = value
    return out
