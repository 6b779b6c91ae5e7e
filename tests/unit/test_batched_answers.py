"""BatchedRecognizer.predict: the photos of several requests go through the recognizer in one call and
come back to their own request, in row order; a refused request keeps its refusal; a batch that fails
as a whole is answered request by request, so only the failing request gets 500. The recognizer here
is a stand-in whose answer is a function of the photo's bytes (the real one is exercised end to end
in tests/integration/test_serve_batching.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from landmark.retrieval.recognizer import Prediction
from landmark.serving.batching import BatchedRecognizer, BatchLimits, Refusal
from landmark.serving.request import RequestLimits, parse_request


class _BytesRecognizer:
    """Answers photo b"<name>" with landmark <name> and similarity len(name) / 100; raises on b"boom"."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def recognize(self, photos: Sequence[bytes], locations: Sequence[object], errors: str) -> list[Prediction]:
        assert errors == "report" and len(locations) == len(photos)
        self.calls.append(len(photos))
        if b"boom" in photos:
            raise RuntimeError("the network failed")
        return [Prediction(p.decode(), 0.9, len(p) / 100) for p in photos]


def _api() -> tuple[BatchedRecognizer, _BytesRecognizer]:
    api = BatchedRecognizer("models:/unused/1", BatchLimits(16, 2.0))
    recognizer = _BytesRecognizer()
    api.recognizer, api.limits = recognizer, RequestLimits(8, 1000)  # what setup() sets from the model
    return api, recognizer


def _request(*images: str) -> object:
    import base64

    cells = [base64.b64encode(i.encode()).decode() if i != "BAD" else "not base64!" for i in images]
    return parse_request(pd.DataFrame({"image": cells}), RequestLimits(8, 1000))


def test_each_request_gets_its_own_rows_from_one_call() -> None:
    api, recognizer = _api()
    refused = Refusal(400, "BAD_REQUEST", "no MLflow format")
    out = api.predict([_request("tower"), refused, _request("dome", "BAD", "arch"), _request("BAD")])
    assert recognizer.calls == [3]  # tower, dome, arch in one call
    assert [r["landmark"] for r in out[0]] == ["tower"]
    assert out[1] is refused
    assert [(r["landmark"], r["error_kind"]) for r in out[2]] == [("dome", ""), ("", "bad_base64"), ("arch", "")]
    assert out[2][1]["error"].startswith("row 1:") and out[2][2]["similarity"] == pytest.approx(0.04)
    assert [r["error_kind"] for r in out[3]] == ["bad_base64"]


def test_a_failing_batch_is_answered_request_by_request() -> None:
    api, recognizer = _api()
    out = api.predict([_request("tower"), _request("boom"), _request("dome")])
    assert recognizer.calls == [3, 1, 1, 1]
    assert out[0][0]["landmark"] == "tower" and out[2][0]["landmark"] == "dome"
    assert isinstance(out[1], Refusal) and out[1].status == 500 and "the network failed" in out[1].message
