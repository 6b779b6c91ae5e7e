"""A parsed request + the recognizer's predictions for its good rows -> one answer row per request row.

The one place the served answer rows are formed: the MLflow pyfunc (`landmark.registry.pyfunc`) and
the batching server (`landmark.serving.batching`) both call it, so both answer the same photo alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from landmark.retrieval.recognizer import Prediction
    from landmark.serving.request import ParsedRequest

ANSWER_COLUMNS = ("landmark", "recognized", "confidence", "similarity", "error_kind", "error")


def good_rows(request: ParsedRequest) -> list[int]:
    """Positions of the request's rows that carry a photo to recognise."""
    return [i for i, e in enumerate(request.errors) if e is None]


def answer_rows(request: ParsedRequest, preds: Sequence[Prediction]) -> list[dict[str, Any]]:
    """One dict per request row (keys ANSWER_COLUMNS); preds[j] answers the j-th of good_rows(request)."""
    good = good_rows(request)
    if len(preds) != len(good):
        raise ValueError(f"{len(good)} photos to answer but {len(preds)} predictions")
    answers = dict(zip(good, preds, strict=True))
    rows: list[dict[str, Any]] = []
    for i, error in enumerate(request.errors):
        pred = answers.get(i)
        if error is not None or pred is None or pred.error is not None:
            if error is not None:
                kind, message = error.kind, error.message
            else:  # the recognizer names a photo by its place among the good rows: name the request row
                kind = str(pred.error_kind) if pred is not None else "unknown"
                message = f"row {i}: {str(pred.error if pred else '').split(': ', 1)[-1]}"
            rows.append({"landmark": "", "recognized": False, "confidence": 0.0, "similarity": -1.0,
                         "error_kind": kind, "error": message})
            continue
        rows.append({"landmark": pred.landmark or "", "recognized": pred.landmark is not None,
                     "confidence": pred.confidence, "similarity": pred.similarity, "error_kind": "", "error": ""})
    return rows
