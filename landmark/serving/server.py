"""`landmark serve`: MLflow's own scoring app for a registered recognizer, run by uvicorn with limits.

`mlflow models serve` answers the same requests (the pyfunc holds the contract, see
`landmark.registry.pyfunc`), but it cannot bound a request body, and by default it queues without
limit and waits without limit for requests in flight when told to stop. This server is the same
FastAPI app (`mlflow.pyfunc.scoring_server.init`) with:
  * a request body limit: 413 before the body is read when Content-Length is too large, and while
    reading when a chunked body grows past it;
  * a per-request time limit (MLflow's timeout middleware: 504 after `request_timeout` seconds);
  * bounded concurrency (uvicorn's limit_concurrency: 503 beyond it, instead of an unbounded queue);
  * graceful shutdown on SIGTERM / Ctrl-C: requests in flight get `shutdown_timeout` seconds.
It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
Scope = dict[str, Any]


@dataclass(frozen=True)
class ServeLimits:
    """max_body_bytes: request body; request_timeout: seconds per request; max_concurrency: requests
    in flight before 503; shutdown_timeout: seconds given to requests in flight on SIGTERM."""

    max_body_bytes: int = 100 * 1024 * 1024
    request_timeout: int = 30
    max_concurrency: int = 64
    shutdown_timeout: int = 5


class BodyLimit:
    """ASGI middleware: refuse HTTP request bodies over `max_bytes` with 413 and a JSON message."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, int(max_bytes)

    async def _refuse(self, send: Any, size: str) -> None:
        body = json.dumps({"error_code": "REQUEST_TOO_LARGE",
                           "message": f"request body of {size} exceeds the limit of {self.max_bytes} bytes; "
                                      "send fewer or smaller photos per request"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, f"{int(declared)} bytes")
            return
        received = 0
        started = refused = False

        async def limited_receive() -> dict[str, Any]:
            # past the limit: answer 413 now and tell the app the client left, so it stops reading
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send, f"more than {self.max_bytes} bytes")
                    return {"type": "http.disconnect"}
            return dict(message)

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:  # answered with 413 already: the app's own answer is dropped
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise
            log.info("request body over %d bytes refused", self.max_bytes)


def scoring_app(model_uri: str, limits: ServeLimits) -> Any:
    """MLflow's scoring app for model_uri (loaded now), wrapped in the body limit."""
    import mlflow.pyfunc
    from mlflow.pyfunc import scoring_server

    # MLflow's timeout middleware reads this when the app is built
    os.environ["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(int(limits.request_timeout))
    model = mlflow.pyfunc.load_model(model_uri)
    return BodyLimit(scoring_server.init(model), limits.max_body_bytes)


def passive_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning (unless OMP_WAIT_POLICY is set): faiss's search of
    a served batch takes well under a millisecond, and its threads would spin for milliseconds after
    it, taking the cores from the network and the HTTP server (about 1-2 ms of CPU per photo in
    batches of 4-16, docs/serving.md). Call before faiss is first imported in the process."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def serve(model_uri: str, host: str = "127.0.0.1", port: int = 5001, limits: ServeLimits | None = None) -> None:
    """Load model_uri and serve it until SIGTERM / SIGINT (POST /invocations, GET /ping)."""
    import uvicorn

    passive_openmp()
    limits = limits or ServeLimits()
    app = scoring_app(model_uri, limits)
    log.info("serving %s on http://%s:%d (%s)", model_uri, host, port, limits)
    config = uvicorn.Config(app, host=host, port=port, workers=1, log_level="warning",
                            limit_concurrency=limits.max_concurrency,
                            timeout_graceful_shutdown=limits.shutdown_timeout)
    uvicorn.Server(config).run()
