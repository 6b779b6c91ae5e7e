"""`landmark serve`: the champion recognizer over HTTP, with body, time and concurrency limits."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from landmark.registry.champion_model import DEFAULT_MODEL_URI

console = Console(stderr=True)


def serve_command(
    model_uri: Annotated[str, typer.Option("--model-uri", help="What to serve (an MLflow model URI).")] = (
        DEFAULT_MODEL_URI
    ),
    host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 5001,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (MiB); larger ones get 413.")] = 100.0,
    request_timeout: Annotated[int, typer.Option(help="Seconds a request may take before 504.")] = 30,
    max_concurrency: Annotated[int, typer.Option(help="Requests in flight before new ones get 503.")] = 64,
    shutdown_timeout: Annotated[int, typer.Option(help="Seconds requests in flight get on SIGTERM.")] = 5,
    batching: Annotated[bool, typer.Option(
        "--batching", help="Gather concurrent requests into one network batch (LitServe); JSON only.")] = False,
    max_batch_requests: Annotated[int, typer.Option(help="With --batching: requests per batch at most.")] = 16,
    batch_timeout_ms: Annotated[float, typer.Option(
        help="With --batching: how long a batch waits to fill (a lone request waits this long).")] = 2.0,
) -> None:
    """Serve a registered recognizer: POST /invocations (MLflow's JSON / CSV formats), GET /ping.

    One answer row per photo: landmark ("" = no landmark), recognized, confidence, similarity, and
    error_kind / error for a photo that could not be used (the other photos are still answered).
    With --batching, concurrent requests share network runs (LitServe's dynamic batching), each still
    answered on its own; see README "Serving" for the request contract and limits."""
    from landmark.env import apply_offline_env, repo_root
    from landmark.serving.server import ServeLimits, serve

    apply_offline_env(repo_root())
    limits = ServeLimits(int(max_body_mb * 1024 * 1024), request_timeout, max_concurrency, shutdown_timeout)
    console.print(f"serving {model_uri} on http://{host}:{port}{' with batching' if batching else ''} "
                  "(Ctrl-C or SIGTERM stops it)")
    if batching:
        from landmark.serving.batching import BatchLimits, serve_batched

        serve_batched(model_uri, host, port, limits, BatchLimits(max_batch_requests, batch_timeout_ms))
        # every process it started has stopped; the interpreter's own teardown after LitServe took
        # 3-4 s more (in C, measured), which a supervisor waiting on SIGTERM would count
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    serve(model_uri, host, port, limits)
