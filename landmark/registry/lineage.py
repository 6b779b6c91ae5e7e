"""Lineage of a trained recognizer: which code, data and params produced it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from landmark.hashing import file_sha256
from landmark.params import load_params, params_hash
from landmark.vcs import head_commit


@dataclass(frozen=True)
class Lineage:
    git_commit: str
    data_md5: str
    params_hash: str
    model_sha256: str
    flow_run_id: str

    def tags(self) -> dict[str, str]:
        """As MLflow tags (`lineage.*`), plus one key that identifies the whole lineage."""
        out = {f"lineage.{k}": v for k, v in asdict(self).items()}
        out["lineage.key"] = self.key()
        return out

    def key(self) -> str:
        """Same code + data + params + weights -> same key (the flow run id does not count)."""
        blob = json.dumps([self.git_commit, self.data_md5, self.params_hash, self.model_sha256])
        return hashlib.sha256(blob.encode()).hexdigest()[:20]


def data_md5(root: Path) -> str:
    """The md5 DVC recorded for data/ in data.dvc ('untracked' when there is none)."""
    path = root / "data.dvc"
    if not path.is_file():
        return "untracked"
    doc = yaml.safe_load(path.read_text()) or {}
    return str((doc.get("outs") or [{}])[0].get("md5", "untracked"))


def collect_lineage(root: Path, model_path: Path, flow_run_id: str = "") -> Lineage:
    """Lineage of the model file at `model_path` in the project at `root`."""
    return Lineage(
        git_commit=head_commit(root),
        data_md5=data_md5(root),
        params_hash=params_hash(load_params(root / "params.yaml")),
        model_sha256=file_sha256(model_path)[:20] if model_path.is_file() else "missing",
        flow_run_id=flow_run_id or "manual",
    )
