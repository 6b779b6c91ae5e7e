"""`landmark serve --batching`: the registered recognizer behind LitServe's dynamic batching.

Concurrent requests are gathered by LitServe (`max_batch_size` requests, waiting at most
`batch_timeout` for the batch to fill) and their photos go through the network as one batch; each
request still gets its own answer rows. Same contract as `landmark serve` (MLflow's scoring app):
POST /invocations with MLflow's JSON formats (dataframe_split, dataframe_records, instances, inputs;
not CSV), GET /ping, one answer row per photo with the same error kinds
(`landmark.serving.request`), formed by the same function as the pyfunc's
(`landmark.serving.answers.answer_rows`). The model is loaded with `mlflow.pyfunc.load_model`, so
the artifacts' integrity check and the request limits recorded at registration apply as they do there.

Processes (LitServe's): the HTTP server (uvicorn; parses JSON, applies the body and time limits),
one inference worker (decodes, batches, runs the network and faiss), and LitServe's queue manager.
"""

# no `from __future__ import annotations`: LitServe hands decode_request's annotation to FastAPI as is

import json
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

import litserve as ls
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from landmark.serving.answers import answer_rows, good_rows
from landmark.serving.request import ParsedRequest, parse_request
from landmark.serving.server import BodyLimit, ServeLimits, passive_openmp
from landmark.serving.time_limit import TimeLimit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchLimits:
    """max_requests: requests gathered into one network batch; timeout_ms: how long the worker waits
    for a batch to fill once a request is there (a lone request waits this long)."""

    max_requests: int
    timeout_ms: float


@dataclass(frozen=True)
class Refusal:
    """A request refused as a whole, as MLflow's scoring server refuses it (unreadable format: 400)."""

    status: int
    error_code: str
    message: str


class BatchedRecognizer(ls.LitAPI):  # type: ignore[misc]
    """The LitAPI: one request = one MLflow JSON body; a batch = the requests LitServe gathered."""

    def __init__(self, model_uri: str, batching: BatchLimits) -> None:
        super().__init__(max_batch_size=batching.max_requests, batch_timeout=batching.timeout_ms / 1000.0,
                         api_path="/invocations")
        self.model_uri = model_uri

    def setup(self, device: str) -> None:
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(self.model_uri)
        inner = model.unwrap_python_model()
        self.recognizer, self.limits = inner.recognizer, inner.limits
        self.schema = model.metadata.get_input_schema()
        log.info("batching server: %s loaded, backend %s", self.model_uri, self.recognizer.backend)

    def decode_request(self, request: dict, **kwargs: Any) -> ParsedRequest | Refusal:  # type: ignore[type-arg]
        """The JSON body -> its rows (MLflow's own parsing and schema enforcement), or why not.
        Never raises: a raise here would fail every request of the batch."""
        from mlflow.exceptions import MlflowException
        from mlflow.models.utils import _enforce_schema
        from mlflow.pyfunc.scoring_server import infer_and_parse_data

        try:
            frame = _enforce_schema(infer_and_parse_data(request, self.schema), self.schema)
            return parse_request(frame, self.limits)
        except MlflowException as exc:
            return Refusal(400, "BAD_REQUEST", exc.message)
        except Exception as exc:  # noqa: BLE001 - answered 400 with the reason, the batch goes on
            return Refusal(400, "BAD_REQUEST", f"{type(exc).__name__}: {exc}")

    def predict(self, x: list[ParsedRequest | Refusal], **kwargs: Any) -> list[list[dict[str, Any]] | Refusal]:
        """The good photos of all gathered requests through the recognizer at once, answered per request.
        Should the batch fail as a whole (not a bad photo: those get their rows), each request is run
        alone, so a failure stays with the request that caused it (500 for it alone)."""
        try:
            return self._answer(x)
        except Exception:  # noqa: BLE001 - retried request by request just below
            log.exception("a batch of %d requests failed: answering them one by one", len(x))
        out: list[list[dict[str, Any]] | Refusal] = []
        for request in x:
            try:
                out += self._answer([request])
            except Exception as exc:  # noqa: BLE001 - this request's own failure
                log.exception("request failed")
                out.append(Refusal(500, "INTERNAL_ERROR", f"recognition failed: {type(exc).__name__}: {exc}"))
        return out

    def _answer(self, x: list[ParsedRequest | Refusal]) -> list[list[dict[str, Any]] | Refusal]:
        photos: list[bytes] = []
        locations: list[tuple[float, float] | None] = []
        for request in x:
            if isinstance(request, ParsedRequest):
                good = good_rows(request)
                photos += [request.photos[i] for i in good]
                locations += [request.locations[i] for i in good]
        log.debug("batch of %d requests, %d photos", len(x), len(photos))
        preds = self.recognizer.recognize(photos, locations, errors="report") if photos else []
        out: list[list[dict[str, Any]] | Refusal] = []
        start = 0
        for request in x:
            if isinstance(request, Refusal):
                out.append(request)
                continue
            n = len(good_rows(request))
            out.append(answer_rows(request, preds[start : start + n]))
            start += n
        return out

    def encode_response(self, output: list[dict[str, Any]] | Refusal, **kwargs: Any) -> Response:
        if isinstance(output, Refusal):
            return JSONResponse({"error_code": output.error_code, "message": output.message}, output.status)
        return Response(json.dumps({"predictions": output}), media_type="application/json")


async def _bad_body(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI refuses a body that is no JSON object (422): answer 400 as MLflow's scoring server does."""
    errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
    why = "; ".join(str(e.get("msg", e)) for e in errors[:3]) or str(exc)
    return JSONResponse({"error_code": "BAD_REQUEST",
                         "message": f"the request body must be a JSON object in one of MLflow's formats ({why})"}, 400)


def batching_server(model_uri: str, limits: ServeLimits, batching: BatchLimits) -> ls.LitServer:
    """The LitServer (not started): body limit, per-request time limit, /ping, 400 for a body no JSON."""
    from fastapi.exceptions import RequestValidationError

    server = ls.LitServer(
        BatchedRecognizer(model_uri, batching), accelerator="cpu", devices=1, workers_per_device=1,
        timeout=limits.request_timeout,  # LitServe's: how long a request may wait in the queue
        healthcheck_path="/ping", disable_openapi_url=True,
        middlewares=[(BodyLimit, {"max_bytes": limits.max_body_bytes}),
                     (TimeLimit, {"seconds": limits.request_timeout})],
    )
    server.uvicorn_graceful_timeout = limits.shutdown_timeout  # what requests in flight get on SIGTERM
    server.app.add_exception_handler(RequestValidationError, _bad_body)
    return server


def serve_batched(model_uri: str, host: str, port: int, limits: ServeLimits, batching: BatchLimits) -> None:
    """Serve model_uri with dynamic batching until SIGTERM / SIGINT (POST /invocations, GET /ping)."""
    passive_openmp()  # the inference worker is spawned: it inherits the environment
    server = batching_server(model_uri, limits, batching)
    log.info("serving %s with batching on http://%s:%d (%s, %s)", model_uri, host, port, limits, batching)
    # LitServer.run blocks on its manager's shutdown event, where a signal may wait seconds to be
    # handled (it can land on another thread); so it runs in a thread and this one waits for signals
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run(host=host, port=port, num_api_servers=1, log_level="warning", generate_client_file=False,
                       limit_concurrency=limits.max_concurrency)
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread below
            failed.append(exc)

    runner = threading.Thread(target=run, name="litserve")
    runner.start()
    while runner.is_alive() and not stop.wait(0.2):
        pass
    while runner.is_alive():  # LitServe's own stop: uvicorn drains requests in flight, then the worker stops
        event = getattr(server, "_shutdown_event", None)
        if event is not None:
            event.set()
        runner.join(0.2)
    if failed:  # e.g. the model could not be loaded: the worker's log says why
        raise RuntimeError(f"the batching server for {model_uri} stopped: {failed[0]}") from failed[0]
