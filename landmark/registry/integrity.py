"""sha256 of every file of a registered model, recorded at registration and verified at load.

At registration (`record_version_digests`) the registered version's files are read back from the
artifact store and hashed. The record goes to `integrity.json` in the model's own folder, so a process
that loads the model without the registry (`mlflow models serve`) can check it; the record's own
sha256 goes to the version's tag `artifacts.sha256` in the registry database, apart from the artifact
store, so `verify_version` also catches files and record rewritten together.
At load (`verify_artifacts(context.artifacts)`, first thing in a pyfunc's `load_context`) every
recorded file must still have its digest: a changed or missing file is refused with an IntegrityError
naming it. A model registered before digests existed loads with a warning.

What this does not cover: MLflow unpickles `python_model.pkl` and imports `code/` before
`load_context` runs, so a tampered pickle or code file is detected only after it ran (it is still
refused then); the network weights, ONNX exports and index files are checked before they are read.
No torch import here, and MLflow only where the registry is written (`landmark recognize` checks a cached
model without importing it): the slim serving install checks the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from landmark.hashing import file_sha256

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
DIGESTS_FILE = "integrity.json"
DIGEST_TAG = "artifacts.sha256"  # sha256 of the digest record (see digests_digest)
DIGEST_FILES_TAG = "artifacts.files"


class IntegrityError(RuntimeError):
    """A model file does not have the digest recorded at registration; the message names the file."""


# MLflow writes registered_model_meta into each downloaded copy (the name and version it was fetched as)
GENERATED_FILES = frozenset({DIGESTS_FILE, "registered_model_meta"})


def _recorded(rel: Path) -> bool:
    # Python rewrites a stale .pyc in place when it imports the model's code/: never record those
    return rel.as_posix() not in GENERATED_FILES and "__pycache__" not in rel.parts and rel.suffix != ".pyc"


def record_digests(folder: Path) -> dict[str, str]:
    """{path relative to `folder` (POSIX): sha256 hex} for every regular file under `folder`, sorted;
    GENERATED_FILES and compiled Python caches (__pycache__, .pyc) are left out."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and _recorded(p.relative_to(folder)))
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}


def digests_digest(digests: Mapping[str, str]) -> str:
    """sha256 of the canonical JSON of a digest record (what the registry tag holds: the record itself
    can exceed MLflow's 8,000-character tag limit once the model's code/ is in it)."""
    return hashlib.sha256(json.dumps(dict(sorted(digests.items())), separators=(",", ":")).encode()).hexdigest()


def verify_digests(folder: Path, expected: Mapping[str, str]) -> None:
    """Raise IntegrityError unless every file in `expected` exists under `folder` with its digest.

    Files under `folder` that `expected` does not list are allowed (MLflow may add its own)."""
    folder = Path(folder)
    for rel, digest in sorted(expected.items()):
        path = folder / rel
        if not path.is_file():
            raise IntegrityError(f"{path}: recorded at registration but missing; refusing to load the model")
        actual = file_sha256(path)
        if actual != digest:
            raise IntegrityError(
                f"{path}: sha256 {actual} differs from {digest} recorded at registration "
                "(the file was changed after it was registered); refusing to load the model"
            )


def model_root(artifacts: Mapping[str, str]) -> Path:
    """The model's folder (the one holding MLmodel) from a pyfunc context's `artifacts` paths."""
    for value in artifacts.values():
        for parent in Path(value).resolve().parents:
            if (parent / "MLmodel").is_file():
                return parent
    raise IntegrityError(f"no MLmodel file above the model's artifacts {dict(artifacts)}")


def verify_model_dir(root: Path) -> bool:
    """Check a loaded model folder against its integrity.json. True when verified, False (with a
    warning) when the model carries no digests (registered before they were recorded)."""
    root = Path(root)
    record = root / DIGESTS_FILE
    if not record.is_file():
        log.warning("%s: no %s (not registered yet, or registered before digests were recorded): not verified",
                    root, DIGESTS_FILE)
        return False
    try:
        expected = json.loads(record.read_text())["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{record}: unreadable digest record ({exc}); refusing to load the model") from exc
    verify_digests(root, expected)
    log.info("%s: %d files match their registered sha256", root, len(expected))
    return True


def verify_artifacts(artifacts: Mapping[str, str]) -> bool:
    """The one call for a pyfunc's load_context: `verify_artifacts(context.artifacts)`."""
    return verify_model_dir(model_root(artifacts))


def record_version_digests(client: MlflowClient, name: str, version: str) -> dict[str, str]:
    """Hash the files of registered model `name` version `version` as the artifact store holds them;
    set the version's DIGEST_TAG tag and add DIGESTS_FILE to the model's folder. Returns the digests."""
    import mlflow

    mv = client.get_model_version(name, version)
    with tempfile.TemporaryDirectory(prefix="digests-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=tmp))
        digests = record_digests(local)
        record = Path(tmp) / DIGESTS_FILE
        record.write_text(json.dumps({"model": name, "version": str(version), "files": digests}, indent=1))
        client.log_model_artifact(_logged_model_id(mv.model_id, mv.source, f"{name} v{version}"), str(record))
    client.set_model_version_tag(name, version, DIGEST_TAG, digests_digest(digests))
    client.set_model_version_tag(name, version, DIGEST_FILES_TAG, str(len(digests)))
    log.info("recorded sha256 of %d files of %s v%s", len(digests), name, version)
    return digests


def verify_against_tag(root: Path, tag: str, what: str) -> None:
    """Check a local copy `root` of a registered version (`what`, e.g. "name v3") against its DIGEST_TAG
    value `tag`: its integrity.json must hash to the tag (so rewriting the files and the record together
    is caught), then every file must match the record. Raises IntegrityError naming what differs."""
    record = Path(root) / DIGESTS_FILE
    if not record.is_file():
        raise IntegrityError(f"{record}: missing, but {what} was registered with digests")
    files = json.loads(record.read_text()).get("files", {})
    if digests_digest(files) != tag:
        raise IntegrityError(f"{record}: does not match the {DIGEST_TAG} tag of {what} "
                             "(the record was rewritten after registration)")
    verify_digests(Path(root), files)


def verify_version(client: MlflowClient, name: str, version: str, root: Path) -> None:
    """`verify_against_tag` with the version's tag read from the registry (IntegrityError when it has none)."""
    tag = client.get_model_version(name, version).tags.get(DIGEST_TAG)
    if not tag:
        raise IntegrityError(f"{name} v{version}: no {DIGEST_TAG} tag; its files were never recorded")
    verify_against_tag(root, tag, f"{name} v{version}")


def _logged_model_id(model_id: str | None, source: str | None, what: str) -> str:
    """The LoggedModel id of a version (sqlite stores leave `model_id` empty; the source names it)."""
    if model_id:
        return model_id
    if source and source.startswith("models:/m-"):
        return source.removeprefix("models:/")
    raise IntegrityError(f"{what}: no logged model id (source {source!r}); cannot add {DIGESTS_FILE}")
