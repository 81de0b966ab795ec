"""The `tabwright` command line contract: outputs, JSON shapes, exit codes, one-line errors."""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

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
    (["profile", "--sql", "SELECT 1"], "--sql and --db go together"),
    (["train", "DATA", "--sql", "SELECT 1", "--db", "sqlite:///x.db"], "not both"),
    (["profile", "--sql", "SELECT 1", "--db", "mysql+nodriver://u@h/db"], "does not know"),
    (["profile", "--sql", "SELECT 1", "--db", "sqlite:////no/such.db"], "No SQLite database file"),
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
    # everyone female: the model's survival probabilities move with it
    assert drift["prediction_drift"]["status"] == "drift"
    assert drift["verdict"] == "retrain" and "predictions shifted" in drift["explanation"]
    text = run("drift", bundle, path)
    assert text.returncode == 0 and "(its predictions)" in text.stdout


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


def _workbook_and_parquet(tmp_path):
    """book.xlsx (a notes sheet first; the table on "Data" under a title) and the same rows as
    data.parquet."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=160)
    frame = pd.DataFrame({"x": x.round(3), "group": np.where(rng.random(160) < 0.5, "a", "b"),
                          "y": np.where(x + rng.normal(scale=0.5, size=160) > 0, "yes", "no")})
    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["Made for the command-line test"])
    sheet = book.create_sheet("Data")
    sheet.append(["Survey export"])
    sheet.append([])
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.save(tmp_path / "book.xlsx")
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    return tmp_path / "book.xlsx", tmp_path / "data.parquet"


def test_excel_and_parquet_work_wherever_a_csv_does(tmp_path):
    book, data = _workbook_and_parquet(tmp_path)
    out = tmp_path / "model"
    done = run_process("train", book, "--sheet", "Data", "--target", "y", "--time-budget", 5,
                       "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    assert (out / "model.joblib").is_file()
    assert json.loads((out / "model.json").read_text())["training_data"]["name"] == "book.xlsx"
    profile = run("profile", book, "--sheet", "Data", "--json", "-")
    assert profile.returncode == 0, profile.stderr
    file = json.loads(profile.stdout)["file"]
    assert (file["format"], file["sheet"], file["sheets"]) == ("excel", "Data", ["Notes", "Data"])
    assert "Rows 1–2 above the table were skipped; the header is row 3." in file["notes"]
    from_book = run("predict", out, book, "--sheet", "Data")
    from_parquet = run("predict", out, data)
    assert from_book.returncode == from_parquet.returncode == 0, from_book.stderr + from_parquet.stderr
    assert from_book.stdout == from_parquet.stdout and len(from_book.stdout.splitlines()) == 161
    evaluated = run("evaluate", out, data, "--json", "-")
    assert evaluated.returncode == 0 and "accuracy" in json.loads(evaluated.stdout)["metrics"]
    drift = run("drift", out, book, "--sheet", "Data", "--json", "-")
    assert drift.returncode == 0 and json.loads(drift.stdout)["verdict"]


def test_an_unknown_sheet_exits_2_listing_the_sheets(tmp_path):
    book, data = _workbook_and_parquet(tmp_path)
    done = run_process("profile", book, "--sheet", "Sales")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("tabwright: The workbook has no sheet named 'Sales'. "
                                   "Choose one of its sheets: 'Notes', 'Data'.")
    assert "Only an Excel workbook has sheets" in run("profile", data, "--sheet", "Data").stderr
    wrong = run("train", book, "--target", "survived")
    assert wrong.returncode == 2 and wrong.stderr.strip() == (
        "tabwright: The target 'survived' is not a column of sheet 'Data'. Choose the sheet that "
        "holds it with --sheet NAME; the workbook's other sheets: 'Notes'.")


def test_train_with_a_pca_recipe_exports_the_step(datasets_dir, tmp_path):
    recipe = tmp_path / "recipe.json"
    reduce = {"method": "pca", "components": 5, "variance": None}
    recipe.write_text(json.dumps({"target": "survived", "auto": False,
                                  "models": [{"name": "logistic_regression"}],
                                  "preparation": {"reduce": reduce}}))
    done = run("train", datasets_dir / "titanic.csv", "--recipe", recipe, "--out", tmp_path / "m",
               "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "m" / "recipe.json").read_text())["preparation"]["reduce"] == reduce
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["recipe"]["preparation"]["reduce"] == reduce
    model = joblib.load(tmp_path / "m" / "model.joblib")
    assert model.named_steps["reduce"].n_components_ == 5
    done = run("predict", tmp_path / "m", datasets_dir / "titanic.csv")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 892  # a header and a prediction per row


def test_train_on_a_wide_csv_above_the_old_column_cap_end_to_end(tmp_path):
    from tests.explore.wide_tables import wide_frame

    frame, _ = wide_frame(rows=200, columns=2_500, task="regression")
    frame.to_csv(tmp_path / "wide.csv", index=False)
    done = run("train", tmp_path / "wide.csv", "--target", "y", "--time-budget", 8,
               "--out", tmp_path / "m", "--quiet")
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert any(note.startswith("Wide table: 2,500 feature columns") for note in card["notes"])
    board = json.loads((tmp_path / "m" / "leaderboard.json").read_text())
    assert {row["model"] for row in board} & {"lasso", "elastic_net"}
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())["test"]["metrics"]
    assert metrics["r2"] > 0.3
    done = run("predict", tmp_path / "m", tmp_path / "wide.csv", "--out", tmp_path / "p.csv")
    assert done.returncode == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 200


# --------------------------------------------------------------------------- the prediction log


def _log_of(bundle, workspace):
    from core.deliver._log import PredictionLog, log_folder, model_identity

    card = json.loads((bundle / "model.json").read_text())
    return PredictionLog(log_folder(model_identity(card)[0], workspace=workspace), background=False)


def test_predict_log_records_the_rows_and_returns_their_ids(bundle, datasets_dir, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))  # --trust: signed elsewhere
    out = tmp_path / "pred.csv"
    done = run("predict", bundle, datasets_dir / "titanic.csv", "--out", out, "--trust", "--log",
               "--log-inputs", "hashed")
    assert done.returncode == 0, done.stderr
    assert "Logged 891 predictions" in done.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["id", "prediction", "proba_0", "proba_1"]
    rows = _log_of(bundle, tmp_path).read()
    assert rows["request_id"].tolist() == pred["id"].tolist()
    assert rows["prediction"].tolist() == pred["prediction"].astype(str).tolist()
    assert rows["proba:1"].tolist() == pytest.approx(pred["proba_1"].tolist())
    assert rows.attrs["inputs"] == ["hashed"] and rows["input_hash"].str.len().eq(64).all()
    # without --log nothing is logged and the output is as before
    plain = run("predict", bundle, datasets_dir / "titanic.csv", "--trust")
    assert plain.stdout.splitlines()[0] == "prediction,proba_0,proba_1"
    assert len(_log_of(bundle, tmp_path).read()) == 891


def test_feedback_from_a_file_by_model_folder_or_project(bundle, datasets_dir, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))
    out = tmp_path / "pred.csv"
    assert run("predict", bundle, datasets_dir / "titanic.csv", "--out", out, "--trust",
               "--log").returncode == 0
    ids = pd.read_csv(out)["id"].tolist()
    truth = pd.read_csv(datasets_dir / "titanic.csv")["survived"].tolist()
    feedback = pd.DataFrame({"row": ids[:10] + ["nope", ids[0]], "outcome": truth[:10] + [1, 1]})
    feedback.loc[3, "outcome"] = 7  # not a class
    path = tmp_path / "truth.csv"
    feedback.to_csv(path, index=False)

    def never(*args, **kwargs):  # outcomes need the model card, never the pickled model
        raise AssertionError("feedback unpickled the model")

    monkeypatch.setattr(joblib, "load", never)
    done = run("feedback", bundle, path, "--id-column", "row", "--actual-column", "outcome")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Accepted 9 of 12 feedback rows: 1 unknown id(s), 1 invalid "
                                  "value(s), 1 duplicate(s).")
    assert "'nope'" in done.stdout and "one of the classes 0, 1" in done.stdout
    kept = _log_of(bundle, tmp_path).read_feedback()
    assert kept["request_id"].tolist() == [i for k, i in enumerate(ids[:10]) if k != 3]
    # by project, as JSON: everything is a duplicate now
    project = json.loads((bundle / "model.json").read_text()).get("project") or "default"
    done = run("feedback", "--project", project, path, "--id-column", "row",
               "--actual-column", "outcome", "--json", "-")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert (counts["accepted"], counts["duplicate"], counts["invalid"]) == (0, 10, 1)


@pytest.mark.parametrize("args, fragment", [
    (["feedback", "TRUTH"], "needs the model folder and the feedback file"),
    (["feedback", "--project", "nothing-here", "TRUTH"], "no prediction log for the project"),
    (["feedback", "--project", "p", "a.csv", "b.csv"], "only the feedback file"),
    (["feedback", "BUNDLE", "TRUTH", "--trust", "--id-column", "key"], "no column 'key'"),
    (["predict", "BUNDLE", "TRUTH", "--trust", "--log-inputs", "none"], "only applies with --log"),
    (["serve"], "got neither"),
])
def test_log_commands_explain_bad_input_in_one_line(args, fragment, bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))
    truth = tmp_path / "truth.csv"
    pd.DataFrame({"id": ["a"], "actual": [1], "survived": [1]}).to_csv(truth, index=False)
    done = run(*[truth if a == "TRUTH" else bundle if a == "BUNDLE" else a for a in args])
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines


def test_monitor_reads_the_served_rows_and_exits_3_when_action_is_needed(bundle, datasets_dir,
                                                                        tmp_path, monkeypatch):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path))
    healthy = run("monitor", bundle)
    assert healthy.returncode == 0, healthy.stderr  # nothing logged yet: watch, not act
    assert healthy.stdout.startswith("Verdict: WATCH") and "No predictions" in healthy.stdout
    assert run("monitor", bundle, "--fail-on", "watch").returncode == 3
    titanic = pd.read_csv(datasets_dir / "titanic.csv")
    shifted = titanic.assign(age=titanic["age"] + 60, fare=titanic["fare"] * 20,
                             sibsp=titanic["sibsp"] + 9, parch=titanic["parch"] + 9,
                             pclass=titanic["pclass"] + 5)
    path = tmp_path / "shifted.csv"
    shifted.to_csv(path, index=False)
    assert run("predict", bundle, path, "--trust", "--log", "--out", tmp_path / "p.csv").returncode == 0
    done = run("monitor", bundle, "--since", "1d", "--window", "hour", "--json", tmp_path / "m.json")
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("Verdict: ACT")
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["verdict"] == "act" and sum(w["rows"] for w in report["windows"]) == 891
    assert {"age", "fare"} <= {f["feature"] for f in report["features"] if f["status"] == "drift"}
    assert run("monitor", bundle, "--since", "last week").returncode == 2


def test_retrain_keeps_or_promotes_with_a_schedulers_exit_code(bundle, datasets_dir, tmp_path):
    data = datasets_dir / "titanic.csv"  # the workspace that signed the bundle records the runs
    kept = run("retrain", bundle, data, "--margin", "0.5", "--quiet", "--json", "-")
    assert kept.returncode == 4, kept.stderr
    outcome = json.loads(kept.stdout)
    assert outcome["decision"] == "keep" and outcome["challenger_run_id"]
    assert outcome["challenge"]["rows_scored"] > 0
    bad = run("retrain", bundle, tmp_path / "missing.csv", "--quiet")
    assert bad.returncode == 2 and "No file" in bad.stderr


def test_explain_gives_each_columns_part_and_evaluate_by_compares_groups(bundle, datasets_dir,
                                                                        tmp_path):
    rows = pd.read_csv(datasets_dir / "titanic.csv").head(5)
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    done = run("explain", bundle, path, "--trust")
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(io.StringIO(done.stdout))
    parts = out.filter(like="contribution_")
    assert len(out) == 5 and parts.shape[1] > 3
    assert (parts.sum(axis=1) + out["expected_value"]).to_numpy() == pytest.approx(
        out["output"].to_numpy(), abs=1e-6)
    by = run("evaluate", bundle, datasets_dir / "titanic.csv", "--trust", "--by", "sex",
             "--json", "-")
    assert by.returncode == 0, by.stderr
    (table,) = json.loads(by.stdout)
    assert table["column"] == "sex" and {g["group"] for g in table["groups"]} == {"male", "female"}
    males = next(g for g in table["groups"] if g["group"] == "male")
    titanic = pd.read_csv(datasets_dir / "titanic.csv")
    assert males["n"] == (titanic["sex"] == "male").sum()
    assert males["base_rate"] == pytest.approx(titanic.loc[titanic["sex"] == "male", "survived"].mean())
    assert run("evaluate", bundle, datasets_dir / "titanic.csv", "--trust", "--by", "sex").returncode == 0


@pytest.fixture(scope="module")
def customers_and_orders(tmp_path_factory):
    """Customers (one row each, a signup date) and their orders (many each, dated)."""
    folder = tmp_path_factory.mktemp("joined")
    rng = np.random.default_rng(5)
    n, m = 400, 4000
    customers = pd.DataFrame({
        "customer_id": np.arange(n),
        "signup_date": (pd.Timestamp("2024-01-01")
                        + pd.to_timedelta(rng.integers(0, 300, n), "D")).strftime("%Y-%m-%d"),
        "age": rng.integers(18, 80, n)})
    orders = pd.DataFrame({
        "cust_id": rng.integers(0, n - 20, m),
        "order_date": (pd.Timestamp("2023-06-01")
                       + pd.to_timedelta(rng.integers(0, 600, m), "D")).strftime("%Y-%m-%d"),
        "amount": rng.gamma(2.0, 30.0, m).round(2)})
    spent = orders.groupby("cust_id")["amount"].sum().reindex(customers["customer_id"]).fillna(0)
    customers["big"] = np.where(spent.to_numpy() > spent.median(), "yes", "no")
    customers.to_csv(folder / "customers.csv", index=False)
    orders.to_csv(folder / "orders.csv", index=False)
    customers.drop(columns="big").head(25).to_csv(folder / "new.csv", index=False)
    return folder


def test_train_with_a_related_table_joins_it_and_predict_needs_it_too(customers_and_orders,
                                                                       tmp_path):
    folder = customers_and_orders
    done = run("train", folder / "customers.csv", "--with", folder / "orders.csv",
               "--target", "big", "--cutoff", "signup_date:order_date", "--time-budget", "10",
               "--out", tmp_path / "m", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "join: Joined orders" in done.stderr and "before each row's signup_date" in done.stderr
    recipe = json.loads((tmp_path / "m" / "recipe.json").read_text())
    [join] = recipe["joins"]
    assert (join["main_key"], join["related_key"], join["relation"]) == \
        ("customer_id", "cust_id", "one_to_many")
    assert join["cutoff"] == {"event_column": "order_date", "main_column": "signup_date",
                              "date": None}
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "orders_count" in [c["name"] for c in card["input_schema"]["columns"]]
    assert any("joined tables ('orders')" in line for line in card["limitations"])
    assert r"Joins orders on customer\_id = cust\_id" in (tmp_path / "m" / "report.md").read_text()
    predicted = run("predict", tmp_path / "m", folder / "new.csv", "--with",
                    f"orders={folder / 'orders.csv'}")
    assert predicted.returncode == 0, predicted.stderr
    assert len(pd.read_csv(io.StringIO(predicted.stdout))) == 25
    missing = run("predict", tmp_path / "m", folder / "new.csv")
    assert missing.returncode == 2
    assert "joined with 'orders'" in missing.stderr and "--with orders=FILE" in missing.stderr
    # drift, evaluate and explain join the same tables as predict
    drift = run("drift", tmp_path / "m", folder / "customers.csv", "--with",
                folder / "orders.csv", "--json", "-")
    assert drift.returncode == 0, drift.stderr
    assert "orders_count" in [f["feature"] for f in json.loads(drift.stdout)["features"]]
    evaluated = run("evaluate", tmp_path / "m", folder / "customers.csv", "--with",
                    folder / "orders.csv", "--json", "-")
    assert evaluated.returncode == 0, evaluated.stderr
    missing = run("drift", tmp_path / "m", folder / "customers.csv")
    assert missing.returncode == 2 and "--with orders=FILE" in missing.stderr
    # The bundle's train.py joins the same way with pandas alone.
    script = tmp_path / "m" / "train.py"
    ran = subprocess.run([sys.executable, str(script), str(folder / "customers.csv"),
                          f"orders={folder / 'orders.csv'}"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300, env=os.environ | {"PYTHONPATH": ""})
    assert ran.returncode == 0, ran.stderr
    assert "tabwright measured" in ran.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--on", "customer_id"], "need --with"),
    (["--with", "ORDERS", "--on", "nope"], "cannot join the data with 'orders'"),
    (["--with", "ORDERS", "--cutoff", "signup_date"], "--cutoff must be MAIN_TIME:EVENT_TIME"),
    (["--with", "/no/such.csv"], "No file at"),
])
def test_join_flags_explain_bad_input_in_one_line(args, fragment, customers_and_orders):
    folder = customers_and_orders
    args = [str(folder / "orders.csv") if a == "ORDERS" else a for a in args]
    done = run("profile", folder / "customers.csv", *args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines


def test_train_takes_bagging_and_a_trial_count_from_the_command_line(sample_dir, tmp_path):
    out = tmp_path / "model"
    done = run("train", sample_dir / "titanic.csv", "--target", "survived", "--max-trials", "3",
               "--bagging", "--quiet", "--out", out)
    assert done.returncode == 0, done.stderr
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["bagging"] is True and recipe["max_trials"] == 3
    card = json.loads((out / "model.json").read_text())
    assert set(card["model"]["bagged"]) <= set(card["model"]["labels"])
    assert not any("regression" in label.lower() for label in card["model"]["bagged"])
