"""dvc.yaml and params.yaml agree: one train_k stage per curriculum stage, each stage's params exist."""

from __future__ import annotations

from pathlib import Path

import yaml

from landmark.params import load_params

REPO = Path(__file__).resolve().parents[2]


def test_one_dvc_train_stage_per_curriculum_stage() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    params = load_params(REPO / "params.yaml")
    train = sorted(name for name in stages if name.startswith("train_"))
    assert train == [f"train_{k}" for k in range(1, len(params.train.stages) + 1)]
    final = f"artifacts/train/stage_{len(params.train.stages)}/model.pt"
    for name in ("index", "evaluate"):
        assert final in stages[name]["deps"], f"{name} must depend on the last curriculum stage's model"


def test_stage_order_is_upstream_first_and_params_sections_exist() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    produced: set[str] = set()
    for name, stage in stages.items():
        for dep in stage.get("deps", []):
            if dep.startswith("artifacts/"):
                assert dep in produced, f"{name} depends on {dep} before a stage produces it"
        for section in stage.get("params", []):
            assert section.split(".")[0] in raw, f"{name}: params section {section} missing"
        for out in stage.get("outs", []) + stage.get("metrics", []):
            produced.add(out if isinstance(out, str) else next(iter(out)))
        assert stage["cmd"].startswith("python -m landmark.stages.")
        module = stage["cmd"].split()[2]
        assert (REPO / (module.replace(".", "/") + ".py")).is_file(), f"{name}: {module} missing"
