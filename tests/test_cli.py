"""The `tabwright` command line contract: outputs, JSON shapes, exit codes, one-line errors."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[1]


class Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args):
    """Run the CLI in-process (fast); `run_process` below checks the real console entry."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    out.flush()
    return Done(code, out.buffer.getvalue().decode(), err.getvalue())


def run_process(*args):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, datasets_dir):
    out = tmp_path_factory.mktemp("bundle")
    recipe = out / "recipe-in.json"
    recipe.write_text(json.dumps({"target": "survived", "auto": False,
                                  "models": [{"name": "logistic_regression"}]}))
    done = run("train", datasets_dir / "titanic.csv", "--recipe", recipe, "--out", out / "m", "--quiet")
    assert done.returncode == 0, done.stderr
    return out / "m"


def test_profile_json_contract(datasets_dir):
    done = run("profile", datasets_dir / "titanic.csv", "--target", "survived", "--json", "-")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["rows"] == 891
    assert {"name", "role", "dtype", "missing_fraction", "n_unique"} <= set(data["columns"][0])
    assert data["task"]["task"] == "binary"
    for finding in data["findings"]:
        assert {"code", "severity", "columns", "message", "suggestion"} <= set(finding)
        assert isinstance(finding["columns"], list)
        assert finding["severity"] in ("info", "warning", "critical")


def test_profile_writes_json_file_and_prints_summary(datasets_dir, tmp_path):
    target = tmp_path / "p.json"
    done = run("profile", datasets_dir / "churn.csv", "--json", target)
    assert done.returncode == 0
    assert "10,000 rows" in done.stdout
    data = json.loads(target.read_text())
    roles = {c["name"]: c["role"] for c in data["columns"]}
    assert roles["RowNumber"] == "identifier"
    assert data["task"] is None and data["target_suggestions"]


@pytest.mark.parametrize("args, fragment", [
    (["profile", "/no/such.csv"], "No file at"),
    (["profile"], "required"),
    (["frobnicate"], "invalid choice"),
    (["train", "DATA"], "needs --target"),
    (["profile", "DATA", "--target", "nope"], "nope"),
    (["predict", "/no/model", "DATA"], "No model found"),
])
def test_bad_input_exits_2_with_one_line(args, fragment, datasets_dir):
    args = [str(datasets_dir / "titanic.csv") if a == "DATA" else a for a in args]
    done = run(*args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]
    assert "Traceback" not in done.stderr


def test_real_process_bad_file_exits_2_without_traceback(tmp_path):
    png = tmp_path / "image.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    done = run_process("profile", png)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_train_writes_bundle_and_predict_round_trips(bundle, datasets_dir, tmp_path):
    names = {p.name for p in bundle.iterdir()}
    assert {"model.joblib", "model.skops", "model.json", "recipe.json", "metrics.json",
            "leaderboard.json"} <= names
    recipe = json.loads((bundle / "recipe.json").read_text())
    assert recipe["target"] == "survived" and recipe["auto"] is False
    out = tmp_path / "pred.csv"
    done = run("predict", bundle, datasets_dir / "titanic.csv", "--out", out)
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(pred) == 891
    assert ((pred.proba_0 + pred.proba_1) - 1).abs().max() < 1e-9
    # the same predictions from the model file path as from the folder
    again = run("predict", bundle / "model.joblib", datasets_dir / "titanic.csv")
    assert again.stdout.replace("\r\n", "\n") == out.read_text().replace("\r\n", "\n")


def test_predict_missing_column_names_it(bundle, datasets_dir, tmp_path):
    data = pd.read_csv(datasets_dir / "titanic.csv").drop(columns=["age", "fare"])
    path = tmp_path / "short.csv"
    data.to_csv(path, index=False)
    done = run("predict", bundle, path)
    assert done.returncode == 2
    assert "'age'" in done.stderr and "'fare'" in done.stderr


def test_evaluate_and_drift_json(bundle, datasets_dir):
    done = run("evaluate", bundle, datasets_dir / "titanic.csv", "--json", "-")
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert 0.8 < metrics["roc_auc"] <= 1
    done = run("drift", bundle, datasets_dir / "titanic.csv", "--json", "-")
    assert done.returncode == 0, done.stderr
    drift = json.loads(done.stdout)
    assert drift["verdict"] == "no drift"


def test_drift_detects_a_shift(bundle, datasets_dir, tmp_path):
    shifted = pd.read_csv(datasets_dir / "titanic.csv")
    shifted["age"] = shifted["age"] + 30
    shifted["fare"] = shifted["fare"] * 8
    shifted["sex"] = "female"
    path = tmp_path / "shifted.csv"
    shifted.to_csv(path, index=False)
    done = run("drift", bundle, path, "--json", "-")
    drift = json.loads(done.stdout)
    assert {"age", "fare", "sex"} <= set(drift["drifted"])
    assert drift["verdict"] in ("watch", "retrain")


def test_clustering_from_the_cli(datasets_dir, tmp_path):
    data = pd.read_csv(datasets_dir / "california_housing.csv").head(600)
    path = tmp_path / "houses.csv"
    data.to_csv(path, index=False)
    done = run("train", path, "--task", "clustering", "--out", tmp_path / "c", "--quiet")
    assert done.returncode == 0, done.stderr
    done = run("predict", tmp_path / "c", path)
    assert done.stdout.splitlines()[0] == "cluster"


def test_train_plan_prints_the_plan_and_estimate_without_training(tmp_path, sample_dir):
    out = tmp_path / "model"
    done = run("train", sample_dir / "titanic.csv", "--target", "survived",
               "--time-budget", "30", "--plan", "--out", out)
    assert done.returncode == 0, done.stderr
    stdout = done.stdout
    assert "Task: binary; optimising roc_auc; 891 rows (712 to train, 179 to test)." in stdout
    assert "Validation: 5-fold stratified cross-validation." in stdout
    assert "Logistic regression" in stdout
    assert "Time: about 30 s" in stdout and "Memory: about " in stdout
    assert not out.exists()  # nothing trained, nothing written
