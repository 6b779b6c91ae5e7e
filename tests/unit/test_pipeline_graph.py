"""dvc.yaml and params.yaml agree, as DVC itself reads them: train@1 .. train@K (foreach over
train.stages) chained through `after`, each stage's deps produced upstream, its params sections present."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo

from landmark import layout
from landmark.params import ParamsError, load_params, parse_params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stages() -> list:  # type: ignore[type-arg]
    with Repo(str(REPO)) as repo:
        return [s for s in repo.index.stages if s.cmd]  # dvc.yaml stages, not data.dvc


def test_one_dvc_train_stage_per_curriculum_stage_chained_by_after(stages: list) -> None:  # type: ignore[type-arg]
    params = load_params(REPO / "params.yaml")
    by_name = {s.name: s for s in stages}
    k_all = len(params.train.stages)
    assert sorted(n for n in by_name if n.startswith("train")) == [f"train@{k}" for k in range(1, k_all + 1)]
    for k in range(1, k_all + 1):
        deps = {Path(d.def_path) for d in by_name[f"train@{k}"].deps}
        assert layout.stage_start(k) in deps, f"train@{k} must depend on what it starts from"
        assert by_name[f"train@{k}"].cmd == f"python -m landmark.stages.train --stage {k}"
    for name in ("index", "evaluate"):
        deps = {Path(d.def_path) for d in by_name[name].deps}
        assert any(layout.final_model(k_all).is_relative_to(d) for d in deps), f"{name}: no dep on the final model"


def test_stage_order_is_upstream_first_and_params_sections_exist(stages: list) -> None:  # type: ignore[type-arg]
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    produced: list[Path] = []
    for stage in stages:
        for dep in stage.deps:
            path = Path(dep.def_path)
            if path.parts and path.parts[0] == "artifacts":
                assert any(p.is_relative_to(path) or path.is_relative_to(p) for p in produced), (
                    f"{stage.name} depends on {path} before a stage produces it")
        for dep in stage.params:
            for key in dep.params:
                assert key.split(".")[0] in raw, f"{stage.name}: params section {key} missing"
        produced += [Path(out.def_path) for out in stage.outs]
        assert stage.cmd.startswith("python -m landmark.stages.")
        module = stage.cmd.split()[2]
        assert (REPO / (module.replace(".", "/") + ".py")).is_file(), f"{stage.name}: {module} missing"


def test_stages_out_of_order_or_unchained_are_refused() -> None:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    first, second = raw["train"]["stages"]["1"], raw["train"]["stages"]["2"]
    raw["train"]["stages"] = {"1": first, "3": second}
    with pytest.raises(ParamsError, match="keys must be"):
        parse_params(raw)
    raw["train"]["stages"] = {"1": first, "2": {**second, "after": "artifacts/clean"}}
    with pytest.raises(ParamsError, match=r"train.stages.2.after must be artifacts/train/stage_1/model.pt"):
        parse_params(raw)
    raw["train"]["stages"] = [first, second]
    with pytest.raises(ParamsError, match="non-empty mapping"):
        parse_params(raw)


def test_preflight_refuses_a_final_model_that_is_not_the_last_stage(tmp_path: Path) -> None:
    from flows.preflight import PreflightError, check_final_model

    check_final_model(REPO)  # the repository's dvc.yaml and params.yaml agree
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["train"]["stages"] = {k: v for k, v in raw["train"]["stages"].items() if k != str(len(raw["train"]["stages"]))}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
    last = len(raw["train"]["stages"])
    with pytest.raises(PreflightError, match=f"set it to artifacts/train/stage_{last}/model.pt"):
        check_final_model(tmp_path)
