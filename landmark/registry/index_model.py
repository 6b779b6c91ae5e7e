"""The faiss centroid index as its own MLflow pyfunc model (`landmark-index`).

Input: a dataframe with a column `embedding` (lists of D floats, L2-normalised, from the recognizer's
network). Output: `landmark` (nearest centroid's landmark), `similarity`, and `accepted` (similarity
at or above the threshold calibrated on that similarity: index.json's `embedding_threshold`, which
differs from `threshold` when the index verifies geometrically). No torch: it serves embeddings, not
photos, so it cannot verify.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

INDEX_FILES = ("index.faiss", "centroids.csv", "index.json")


class IndexModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]  # untyped base
    """Nearest-centroid search over the registered index files."""

    def load_context(self, context: Any) -> None:
        from landmark.registry.integrity import verify_artifacts
        from landmark.retrieval.index import CentroidIndex
        from landmark.retrieval.threshold import read_embedding_threshold

        verify_artifacts(context.artifacts)  # a file changed since registration is refused, named
        folder = Path(context.artifacts["index_dir"])
        self.index = CentroidIndex.load(folder)
        meta = json.loads((folder / "index.json").read_text())
        # embeddings only, so never the verified score's threshold (with index.verification on)
        self.threshold = read_embedding_threshold(meta, folder)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        queries = np.stack([np.asarray(v, dtype=np.float32) for v in model_input["embedding"]])
        sims, labels = self.index.search(queries, k=1)
        similarity = sims[:, 0].astype(float)
        return pd.DataFrame({"landmark": labels[:, 0], "similarity": similarity,
                             "accepted": similarity >= self.threshold})


def log_index_model(index_dir: Path, artifact_path: str = "index",
                    registered_model_name: str | None = None) -> mlflow.models.model.ModelInfo:
    """Log the index folder as a pyfunc model in the active run (and register it when named)."""
    from landmark.retrieval.index import CentroidIndex

    index = CentroidIndex.load(index_dir)
    example = pd.DataFrame({"embedding": [index.vectors()[0].astype(float).tolist()]})
    output = pd.DataFrame({"landmark": ["x"], "similarity": [1.0], "accepted": [True]})
    package = Path(__file__).resolve().parents[1]
    return mlflow.pyfunc.log_model(
        name=artifact_path,
        python_model=IndexModel(),
        artifacts={"index_dir": str(index_dir)},
        signature=infer_signature(example, output),
        input_example=example,
        code_paths=[str(package)],
        registered_model_name=registered_model_name,
    )
