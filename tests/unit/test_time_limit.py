"""TimeLimit (the batching server's per-request time limit): 504 with a JSON message when the app is
too slow, the app's own answer otherwise; non-HTTP scopes pass through."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from landmark.serving.time_limit import TimeLimit


def _app(seconds: float, cancelled: list[bool]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
    return app


def _call(app: Any, scope_type: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": scope_type, "path": "/invocations"}, receive, send))
    return sent


def test_slow_request_gets_504_and_is_cancelled() -> None:
    cancelled: list[bool] = []
    sent = _call(TimeLimit(_app(5.0, cancelled), seconds=0.05))
    assert sent[0]["status"] == 504 and cancelled == [True]
    assert json.loads(sent[1]["body"])["error_code"] == "REQUEST_TIMEOUT"


def test_fast_request_keeps_its_answer() -> None:
    cancelled: list[bool] = []
    sent = _call(TimeLimit(_app(0.0, cancelled), seconds=5.0))
    assert [m.get("status") for m in sent] == [200, None] and sent[1]["body"] == b"done" and not cancelled


def test_other_scopes_are_not_limited() -> None:
    cancelled: list[bool] = []
    sent = _call(TimeLimit(_app(0.1, cancelled), seconds=0.01), scope_type="lifespan")
    assert sent[0]["status"] == 200 and not cancelled
