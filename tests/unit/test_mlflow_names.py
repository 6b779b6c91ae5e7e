"""The one sanitiser of MLflow keys: hand-computed expectations, collisions, and MLflow's own check."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import _validate_metric_name, _validate_param_name, _validate_tag_name

from landmark.registry.mlflow_names import MlflowNameCollision, is_accepted, mlflow_name, mlflow_names

# sha256 prefixes computed by hand with hashlib.sha256(s.encode()).hexdigest()[:8]
CASES = {
    "gap": "gap",
    "modes.RGB": "modes.RGB",
    "seconds_train_1": "seconds_train_1",
    "a/b": "a/b",  # MLflow takes a normalised relative path
    "modes.I;16": "modes.I_16-h6c05d2f5",
    "modes.I;16B": "modes.I_16B-h7298ce66",
    "a;b": "a_b-h5719af18",
    "a//b": "a__b-h7a9acf33",
    "../x": "_._x-hd6b96a97",  # "/" -> "_" gives ".._x"; its leading "." -> "_"
    ".": "_-hcdb4ee2a",
    "": "-he3b0c442",
}


@pytest.mark.parametrize(("raw", "expected"), sorted(CASES.items()))
def test_hand_computed(raw: str, expected: str) -> None:
    assert mlflow_name(raw) == expected


@pytest.mark.parametrize("raw", sorted(CASES) + ["é", "x" * 400, "a\nb", "/abs", "a/", "sens@1%", "..", "a/./b"])
def test_mlflow_accepts_every_result(raw: str) -> None:
    key = mlflow_name(raw)
    assert is_accepted(key)
    assert len(key) <= 250
    for validate in (_validate_metric_name, _validate_param_name, _validate_tag_name):
        validate(key)  # raises MlflowException if MLflow would refuse it


@pytest.mark.parametrize("raw", ["modes.I;16", "a//b", "/abs", ".."])
def test_mlflow_refuses_the_raw_names(raw: str) -> None:
    """The cases above are real: MLflow refuses them as they are."""
    assert not is_accepted(raw)
    with pytest.raises(MlflowException):
        _validate_metric_name(raw)


def test_neighbours_do_not_collide() -> None:
    raws = ["modes.I;16", "modes.I;16B", "modes.I:16", "modes.I_16", "modes.I 16", "a;b", "a_b", "a b"]
    keys = mlflow_names({raw: i for i, raw in enumerate(raws)})
    assert len(keys) == len(raws)
    assert sorted(keys.values()) == list(range(len(raws)))
    assert keys["modes.I:16"] == 2 and keys["modes.I_16"] == 3  # accepted names are unchanged


def test_stable_across_calls() -> None:
    assert mlflow_name("modes.I;16") == mlflow_name("modes.I;16")


def test_long_keys_keep_their_difference() -> None:
    a, b = "m;" + "x" * 300 + "a", "m;" + "x" * 300 + "b"
    assert mlflow_name(a) != mlflow_name(b)
    assert len(mlflow_name(a)) == 250


def test_a_real_collision_is_an_error_not_a_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("landmark.registry.mlflow_names.name_digest", lambda raw: "00000000")
    with pytest.raises(MlflowNameCollision, match="'a;b'.*'a,b'"):
        mlflow_names({"a;b": 1, "a,b": 2})
