"""Operator commands through the real CLI: help, data versions, and clear errors from the registry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "mlflow").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow/mlflow.db")
    return tmp_path


def test_help_lists_every_operator_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("setup", "retrain", "promote", "recognize", "albums", "evaluate", "schedule", "data", "model"):
        assert command in result.output
    data_help = runner.invoke(app, ["data", "--help"]).output
    for command in ("import", "sample", "versions", "rollback"):
        assert command in data_help


def test_versions_of_a_project_without_data_is_an_empty_list(project: Path) -> None:
    result = runner.invoke(app, ["data", "versions", "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[]"


def test_rollback_to_an_unknown_revision_names_it(project: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
                   cwd=project, check=True)
    result = runner.invoke(app, ["data", "rollback", "HEAD"])
    assert result.exit_code == 2
    assert "data.dvc does not exist at revision 'HEAD'" in result.output


def test_promote_and_rollback_without_models_fail_clearly(project: Path) -> None:
    promote = runner.invoke(app, ["promote", "7"])
    assert promote.exit_code == 2 and "landmark-recognizer version 7" in promote.output
    rollback = runner.invoke(app, ["model", "rollback"])
    assert rollback.exit_code == 2 and "no previous champion" in rollback.output


def test_retrain_without_data_says_what_to_run(project: Path) -> None:
    shutil.copy(REPO / "dvc.yaml", project / "dvc.yaml")
    result = runner.invoke(app, ["retrain"])
    assert result.exit_code == 2 and "landmark setup" in result.output


def test_data_sample_points_at_the_samples_package(project: Path) -> None:
    result = runner.invoke(app, ["data", "sample"])
    assert result.exit_code == 2 and "python -m samples" in result.output


def test_setup_without_data_says_how_to_get_some(project: Path) -> None:
    result = runner.invoke(app, ["setup", "--remote", str(project / ".dvc-remote")])
    assert result.exit_code == 0, result.output
    assert "python -m samples" in result.output and "landmark data import" in result.output
    assert not (project / "data").exists()  # setup draws nothing
