"""The registered recognizer users get: `models:/landmark-recognizer@champion` as local files.

`fetch_model(uri, root)` resolves the alias (or version) in the project's MLflow store, keeps one
local copy per version under `<root>/.landmark/models/<name>/<version>/` (reused while the alias
points to that version; a new version is downloaded when the alias moves), checks every file against
the sha256 digests recorded at registration (`landmark.registry.integrity`), and returns where the
network (`model.pt` + its ONNX export and manifest) and the index folder are.

Startup cost: for the project's sqlite store the alias is read with the standard library's sqlite3
(read-only, ~30 ms); MLflow (~1.5 s to import) is imported only to download a version not cached yet,
or for another store (an http server). Two processes downloading at once are safe: each downloads to
its own temporary folder and moves it into place with one rename; the loser uses the winner's copy.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from landmark.env import tracking_uri
from landmark.registry.integrity import DIGEST_TAG, IntegrityError, verify_against_tag

log = logging.getLogger(__name__)
RECOGNIZER = "landmark-recognizer"  # the registered recognizer (register.py registers it under this name)
DEFAULT_MODEL_URI = f"models:/{RECOGNIZER}@champion"
CACHE = Path(".landmark") / "models"
HOW_TO_GET_ONE = ("run `landmark retrain` (the gate makes the first version champion) or "
                  "`landmark promote <version>`; or pass --index and --model to use local files")
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


class ModelFetchError(RuntimeError):
    """The registered model cannot be used; the message names what is missing and how to fix it."""


@dataclass(frozen=True)
class FetchedModel:
    """A registered recognizer version as local files."""

    name: str
    version: str
    alias: str | None
    folder: Path  # the MLflow model folder (MLmodel, artifacts/, integrity.json)
    index_dir: Path
    model_path: Path
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """e.g. 'landmark-recognizer v3 (champion)'."""
        return f"{self.name} v{self.version}" + (f" ({self.alias})" if self.alias else "")


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of `models:/NAME@ALIAS` or `models:/NAME/VERSION`; ModelFetchError else."""
    match = _URI.match(uri.strip())
    if match is None:
        raise ModelFetchError(f"{uri!r}: not a registered model URI; use models:/NAME@ALIAS "
                              f"(e.g. {DEFAULT_MODEL_URI}) or models:/NAME/VERSION")
    return match["name"], match["alias"], match["version"]


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _resolve_sqlite(db: Path, name: str, alias: str | None, version: str | None) -> tuple[str, dict[str, str]]:
    """Version and its tags, read from MLflow's sqlite tables without importing MLflow."""
    if not db.is_file():
        raise ModelFetchError(f"no model registry at {db} yet: {HOW_TO_GET_ONE}")
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
            if alias is not None:
                row = con.execute("SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                                  (name, alias)).fetchone()
                if row is None:
                    known = con.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone()
                    named = "champion" if alias == "champion" else f"version with the alias {alias!r}"
                    what = f"has no {named} yet" if known else "is not registered yet"
                    raise ModelFetchError(f"{name} {what} (registry {db}): {HOW_TO_GET_ONE}")
                version = str(row[0])
            exists = con.execute("SELECT 1 FROM model_versions WHERE name = ? AND version = ?",
                                 (name, int(str(version)))).fetchone()
            if exists is None:
                raise ModelFetchError(f"{name} has no version {version} (registry {db}); "
                                      "`landmark model list` shows the versions")
            tags = con.execute("SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                               (name, int(str(version)))).fetchall()
    except sqlite3.Error as exc:
        raise ModelFetchError(f"cannot read the model registry {db}: {exc}") from exc
    return str(version), {str(k): str(v) for k, v in tags}


def _resolve_client(uri: str, name: str, alias: str | None, version: str | None) -> tuple[str, dict[str, str]]:
    """Version and tags through MLflow's client (an http store, or any other)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = (client.get_model_version_by_alias(name, alias) if alias is not None
              else client.get_model_version(name, str(version)))
    except MlflowException as exc:
        code = str(getattr(exc, "error_code", ""))
        if code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            what = f"alias {alias!r}" if alias is not None else f"version {version}"
            raise ModelFetchError(f"{name} has no {what} in {uri}: {HOW_TO_GET_ONE}") from exc
        raise ModelFetchError(f"cannot reach the MLflow store {uri}: {exc.message}; check "
                              "MLFLOW_TRACKING_URI (or start the server: mlflow/server.sh)") from exc
    except Exception as exc:  # noqa: BLE001 - connection errors come in many types
        raise ModelFetchError(f"cannot reach the MLflow store {uri}: {exc}; check MLFLOW_TRACKING_URI "
                              "(or start the server: mlflow/server.sh)") from exc
    return str(mv.version), dict(mv.tags or {})


def resolve(uri: str, model_uri: str) -> tuple[str, str, str | None, dict[str, str]]:
    """(name, version, alias, version tags) that `model_uri` means in the store `uri`, now."""
    name, alias, version = parse_model_uri(model_uri)
    db = _sqlite_path(uri)
    if db is not None:
        version, tags = _resolve_sqlite(db, name, alias, version)
    else:
        version, tags = _resolve_client(uri, name, alias, version)
    return name, version, alias, tags


def verify(folder: Path, name: str, version: str, tags: dict[str, str]) -> None:
    """A local copy must match the digests recorded at registration (`integrity.verify_against_tag`).
    A version registered before digests existed is used with a warning. Raises IntegrityError naming
    the file."""
    tag = tags.get(DIGEST_TAG)
    if not tag:
        log.warning("%s v%s: registered without digests (%s); its files are not verified", name, version, DIGEST_TAG)
        return
    verify_against_tag(folder, tag, f"{name} v{version}")


def _download(uri: str, name: str, version: str, target: Path) -> None:
    """Download models:/name/version into `target` (atomic: temp folder + rename)."""
    import mlflow

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".download-{version}-", dir=target.parent))
    try:
        mlflow.set_tracking_uri(uri)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}",
                                                         dst_path=str(tmp / "dl")))
        try:
            os.replace(local, target)
        except OSError:  # another process put its copy there first: use that one
            if not (target / "MLmodel").is_file():
                raise
    except ModelFetchError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow and the filesystem raise many types
        raise ModelFetchError(f"cannot download {name} v{version} from {uri}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _artifact_dirs(folder: Path) -> tuple[Path, Path]:
    """(model_dir, index_dir) of a recognizer pyfunc folder, from its MLmodel."""
    import yaml

    try:
        flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["python_function"]
        paths = {key: folder / value["path"] for key, value in flavor["artifacts"].items()}
        return paths["model_dir"], paths["index_dir"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ModelFetchError(f"{folder}: not a recognizer model (no model_dir / index_dir artifacts in MLmodel: "
                              f"{exc}); is the URI a landmark-recognizer version?") from exc


def fetch_model(root: Path, model_uri: str = DEFAULT_MODEL_URI, uri: str | None = None) -> FetchedModel:
    """The recognizer `model_uri` names now, as verified local files in the project's cache (see the
    module docstring). Raises ModelFetchError (no registry, no such alias/version, store unreachable,
    download failed) or IntegrityError (a file differs from its registered digest)."""
    uri = uri or tracking_uri(root)
    name, version, alias, tags = resolve(uri, model_uri)
    folder = root / CACHE / name / version
    if (folder / "MLmodel").is_file():
        try:
            verify(folder, name, version, tags)
        except IntegrityError as exc:  # stale (another store's v<version>) or changed: fetch it again
            log.warning("cached %s v%s differs from the registry (%s): downloading it again", name, version, exc)
            shutil.rmtree(folder, ignore_errors=True)
    if not (folder / "MLmodel").is_file():
        log.info("downloading %s v%s into %s", name, version, folder)
        _download(uri, name, version, folder)
        verify(folder, name, version, tags)
    model_dir, index_dir = _artifact_dirs(folder)
    return FetchedModel(name, version, alias, folder, index_dir, model_dir / "model.pt", tags)
