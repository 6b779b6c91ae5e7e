"""The summary `make run` ends with shows every metric it lists: the keys exist in what evaluate writes."""

from __future__ import annotations

import numpy as np

from landmark.cli.summary import SUMMARY_METRICS
from landmark.evaluation.metrics import passed_by_role
from landmark.evaluation.run import flat_metrics
from landmark.evaluation.systems import evaluate_systems
from landmark.params import load_params


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_every_summary_metric_is_written_by_the_evaluation(repo_dir) -> None:
    params = load_params(repo_dir / "params.yaml")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    labels = np.repeat(np.array(["a", "b", "c"], dtype=object), 10)
    sets = {"database": _unit(centres[np.repeat(np.arange(3), 10)] + 0.3 * rng.normal(size=(30, 16))),
            "calibration": _unit(rng.normal(size=(40, 16))),
            "collection": _unit(np.concatenate([centres + 0.3 * rng.normal(size=(3, 16)), rng.normal(size=(20, 16))]))}
    truth = np.array(["a", "b", "c", *([None] * 20)], dtype=object)
    evaluations = evaluate_systems(sets, labels, truth, params, frozen=sets)
    metrics = flat_metrics(evaluations)
    roles = np.array(["known"] * 3 + ["unknown"] * 10 + ["non_landmark"] * 10)
    main = evaluations["recognizer"]
    metrics.update(passed_by_role(main.results, roles, main.metrics["threshold"]))  # as the evaluate stage does
    assert [k for k in SUMMARY_METRICS if k not in metrics] == []
