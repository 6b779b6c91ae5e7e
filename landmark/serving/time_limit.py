"""ASGI middleware: a request that takes longer than `seconds` is answered 504 and its handler cancelled.

MLflow's scoring app has its own (MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT); the batching server
(`landmark.serving.batching`) wraps LitServe's app in this one, whose own `timeout` bounds only the
time a request waits in the queue before the model takes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger(__name__)


class TimeLimit:
    """Cancel an HTTP request after `seconds` and answer 504 (when no answer was started yet)."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, float(seconds)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking_send), timeout=self.seconds)
        except TimeoutError:
            log.warning("request %s took over %.0f s: answered 504", scope.get("path"), self.seconds)
            if started:  # half an answer is out: the connection is closed by the server
                return
            body = json.dumps({"error_code": "REQUEST_TIMEOUT",
                               "message": f"the request took more than {self.seconds:g} s; try fewer photos"}).encode()
            await send({"type": "http.response.start", "status": 504,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
