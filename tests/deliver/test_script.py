"""The generated train.py rebuilds the same model with pandas and scikit-learn alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from core.deliver._script import render_training_script
from core.ingest._read import read_table
from core.recipe import ColumnPrep, ModelChoice, Recipe
from core.train._runner import train


def _run_script(result, table, csv: Path, tmp_path: Path, data_name: str) -> tuple[str, pd.DataFrame]:
    source = render_training_script(result, data_name=data_name, table=table)
    script = tmp_path / "train.py"
    script.write_text(source)
    # No PYTHONPATH and another working directory: the script cannot import tabwright.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script), str(csv)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model.joblib").stat().st_size > 0
    return source, pd.read_csv(tmp_path / "predictions.csv")


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def test_titanic_ensemble_with_threshold_and_row_cleaning_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False, ensemble=True, drop_duplicate_rows=True,
                    models=[ModelChoice("logistic_regression"), ModelChoice("decision_tree")])
    recipe.imbalance.threshold = 0.4
    recipe.preparation.columns["fare"] = ColumnPrep(outliers="drop_rows", missing_indicator=True)
    recipe.preparation.columns["age"] = ColumnPrep(impute="knn")
    result = train(table.frame, recipe)
    source, out = _run_script(result, table, csv, tmp_path, "titanic.csv")

    assert _imports(source) <= {"sys", "joblib", "numpy", "pandas", "sklearn"}
    assert "core" not in _imports(source)
    assert "class ToString(TransformerMixin, BaseEstimator)" in source  # inlined, not imported
    assert "FixedThresholdClassifier(" in source and "VotingClassifier(" in source
    assert "data = data.drop_duplicates()" in source
    assert out["row"].tolist() == result.X_test.index.tolist()
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    proba = result.pipeline.predict_proba(result.X_test)[:, 1]
    assert np.allclose(out["proba_1"], proba)


def test_california_regression_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "california_housing.csv"
    table = read_table(csv)
    recipe = Recipe(target="median_house_value", auto=False, models=[ModelChoice("ridge")])
    result = train(table.frame, recipe)
    _, out = _run_script(result, table, csv, tmp_path, "california_housing.csv")
    assert out["row"].tolist() == result.X_test.index.tolist()
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_text_numbers_codes_and_missing_markers_are_read_like_tabwright(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    price = rng.uniform(100, 5000, n)
    frame = pd.DataFrame({
        "code": [f"{i % 40:05d}" for i in range(n)],        # leading zeros: kept as text
        "price": [f"${p:,.2f}" for p in price],             # currency and thousands separators
        "share": [f"{p % 100:.1f}%" for p in price],        # percent signs
        "colour": rng.choice([" red", "blue ", "green", "?"], n),  # spaces and a missing marker
        "y": price / 100 + rng.normal(size=n),
    })
    csv = tmp_path / "messy.csv"
    frame.to_csv(csv, index=False)
    table = read_table(csv)
    assert {"price", "share"} <= set(table.conversions)
    result = train(table.frame, Recipe(target="y", auto=False, models=[ModelChoice("ridge")]))
    source, out = _run_script(result, table, csv, tmp_path, "messy.csv")
    assert "text_to_number(frame['price']" in source
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_a_float32_model_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")])
    recipe.preparation.precision = "float32"
    result = train(table.frame, recipe)
    source, out = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert "class Float32(TransformerMixin, BaseEstimator)" in source
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    assert np.allclose(out["proba_1"], result.pipeline.predict_proba(result.X_test)[:, 1])
