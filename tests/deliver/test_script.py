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
from core.recipe import ColumnPrep, ModelChoice, Recipe, Reduction
from core.train._runner import train


def _run_script(result, table, csv: Path, tmp_path: Path, data_name: str) -> tuple[str, pd.DataFrame, str]:
    source = render_training_script(result, data_name=data_name, table=table)
    script = tmp_path / "train.py"
    script.write_text(source)
    # No PYTHONPATH and another working directory: the script cannot import tabwright.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script), str(csv)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model.joblib").stat().st_size > 0
    return source, pd.read_csv(tmp_path / "predictions.csv"), done.stdout


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
    source, out, _ = _run_script(result, table, csv, tmp_path, "titanic.csv")

    assert _imports(source) <= {"sys", "joblib", "numpy", "pandas", "sklearn"}
    assert "core" not in _imports(source)
    assert "class ToString(TransformerMixin, BaseEstimator)" in source  # inlined, not imported
    assert "FixedThresholdClassifier(" in source and "VotingClassifier(" in source
    assert "data = data.drop_duplicates()" in source
    assert out["row"].tolist() == result.X_test.index.tolist()
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    proba = result.pipeline.predict_proba(result.X_test)[:, 1]
    assert np.allclose(out["proba_1"], proba)


def test_a_bagged_ensemble_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False, ensemble=True, bagging=True,
                    models=[ModelChoice("logistic_regression"),
                            ModelChoice("hist_gradient_boosting", {"max_iter": 40})])
    result = train(table.frame, recipe)
    source, out, _ = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert "core" not in _imports(source) and "catboost" not in _imports(source)
    assert "class FoldBagClassifier(ClassifierMixin, _FoldBag)" in source
    assert "FoldBagClassifier(\n" in source or "FoldBagClassifier(estimator=" in source
    proba = result.pipeline.predict_proba(result.X_test)[:, 1]
    assert np.allclose(out["proba_1"], proba)


def test_california_regression_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "california_housing.csv"
    table = read_table(csv)
    recipe = Recipe(target="median_house_value", auto=False, models=[ModelChoice("ridge")])
    result = train(table.frame, recipe)
    _, out, _ = _run_script(result, table, csv, tmp_path, "california_housing.csv")
    assert out["row"].tolist() == result.X_test.index.tolist()
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_boosting_with_poisson_loss_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "california_housing.csv"
    table = read_table(csv)
    recipe = Recipe(target="median_house_value", auto=False,
                    models=[ModelChoice("hist_gradient_boosting", {"loss": "poisson", "max_iter": 60})])
    result = train(table.frame, recipe)
    source, out, _ = _run_script(result, table, csv, tmp_path, "california_housing.csv")
    assert "loss='poisson'" in source
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_boosting_that_keeps_a_class_seen_once_for_training_is_reproduced(sample_dir, tmp_path):
    csv = tmp_path / "rare.csv"
    frame = read_table(sample_dir / "titanic.csv").frame
    frame.loc[frame.index[:2], "embarked"] = ["X", "Y"]  # classes seen once: kept for training
    frame.to_csv(csv, index=False)
    table = read_table(csv)
    recipe = Recipe(target="embarked", auto=False,
                    models=[ModelChoice("hist_gradient_boosting", {"max_iter": 40})])
    result = train(table.frame, recipe)
    assert type(result.pipeline[-1]).__name__ == "RareClassBoostingClassifier"
    source, out, _ = _run_script(result, table, csv, tmp_path, "rare.csv")
    assert "class RareClassBoostingClassifier(HistGradientBoostingClassifier)" in source
    assert "core" not in _imports(source)
    assert (out["predicted"].to_numpy() == result.pipeline.predict(result.X_test)).all()


def test_a_linear_model_on_splines_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "california_housing.csv"
    table = read_table(csv)
    recipe = Recipe(target="median_house_value", auto=False,
                    models=[ModelChoice("ridge", {"splines": 5, "alpha": 3.0})])
    result = train(table.frame, recipe)
    assert [name for name, _ in result.pipeline.steps] == ["prep", "splines", "model"]
    source, out, _ = _run_script(result, table, csv, tmp_path, "california_housing.csv")
    assert "class SplineBasis(TransformerMixin, BaseEstimator)" in source  # inlined
    assert "def _spline_column(" in source and "('splines', SplineBasis())" in source
    assert "core" not in _imports(source)
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_a_time_split_with_missing_times_is_reproduced(tmp_path):
    rng = np.random.default_rng(4)
    n = 300
    dates = pd.date_range("2021-01-01", periods=n, freq="D").astype(str).to_numpy(dtype=object)
    dates[[5, 40, 41, 200]] = ["", "unknown", "", ""]
    x = rng.normal(size=n)
    frame = pd.DataFrame({"day": dates[rng.permutation(n)], "x": x,
                          "y": x + rng.normal(scale=0.5, size=n)})
    csv = tmp_path / "days.csv"
    frame.to_csv(csv, index=False)
    table = read_table(csv)
    recipe = Recipe(target="y", auto=False, models=[ModelChoice("ridge")])
    recipe.split.time_column = "day"
    result = train(table.frame, recipe)
    _, out, _ = _run_script(result, table, csv, tmp_path, "days.csv")
    assert out["row"].tolist() == result.X_test.index.tolist()  # the same rows, in the same order
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
    source, out, _ = _run_script(result, table, csv, tmp_path, "messy.csv")
    assert "text_to_number(frame['price']" in source
    assert np.allclose(out["predicted"], result.pipeline.predict(result.X_test))


def test_a_float32_model_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")])
    recipe.preparation.precision = "float32"
    result = train(table.frame, recipe)
    source, out, _ = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert "class Float32(TransformerMixin, BaseEstimator)" in source
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    assert np.allclose(out["proba_1"], result.pipeline.predict_proba(result.X_test)[:, 1])


def test_a_catboost_model_with_native_categories_is_reproduced(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False,
                    models=[ModelChoice("catboost", params={"iterations": 60, "depth": 4})])
    result = train(table.frame, recipe)
    assert result.pipeline.named_steps["model"].cat_features  # sex, embarked, ... as categories
    source, out, stdout = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert "class CatBoostClassifier(ClassifierMixin, _CatBoost)" in source  # inlined
    assert source.index("class _CatBoost(") < source.index("class CatBoostClassifier(")
    assert _imports(source) <= {"sys", "joblib", "numpy", "pandas", "sklearn", "typing", "catboost"}
    assert "with pandas, scikit-learn and CatBoost" in source
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    assert np.allclose(out["proba_1"], result.pipeline.predict_proba(result.X_test)[:, 1])


def test_a_pca_model_is_reproduced_with_its_test_score(sample_dir, tmp_path):
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("hist_gradient_boosting")])
    recipe.preparation.reduce = Reduction("pca", variance=0.9)
    result = train(table.frame, recipe)
    source, out, printed = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert "('reduce', PCA(n_components=0.9, random_state=0))" in source and "_PCA" not in source
    measured = result.evaluation["metrics"]["roc_auc"]
    assert f"Test roc_auc: {measured:.4f} (tabwright measured {measured:.4f})" in printed
    assert out["predicted"].tolist() == result.pipeline.predict(result.X_test).tolist()
    assert np.allclose(out["proba_1"], result.pipeline.predict_proba(result.X_test)[:, 1])


def test_text_reduced_by_truncated_svd_is_reproduced(tmp_path):
    rng = np.random.default_rng(0)
    words = np.array(["late", "broken", "great", "cheap", "refund", "fast", "slow", "happy"])
    n = 300
    good = rng.random(n) < 0.5
    frame = pd.DataFrame({
        "review": [" ".join(rng.choice(words[2:] if g else words, 5)) for g in good],
        "price": rng.uniform(5, 50, n).round(2),
        "liked": np.where(good, "yes", "no"),
    })
    csv = tmp_path / "reviews.csv"
    frame.to_csv(csv, index=False)
    table = read_table(csv)
    recipe = Recipe(target="liked", auto=False, models=[ModelChoice("logistic_regression")],
                    roles={"review": "text"})
    recipe.preparation.reduce = Reduction("svd", components=4)
    result = train(table.frame, recipe)
    source, out, printed = _run_script(result, table, csv, tmp_path, "reviews.csv")
    assert "sparse_threshold=1.0" in source and "TruncatedSVD(n_components=4, random_state=0)" in source
    measured = result.evaluation["metrics"]["roc_auc"]
    assert f"(tabwright measured {measured:.4f})" in printed and f"Test roc_auc: {measured:.4f}" in printed
    assert np.allclose(out["proba_yes"], result.pipeline.predict_proba(result.X_test)[:, 1])


def test_a_clustering_on_components_is_reproduced(sample_dir, tmp_path):
    """Agglomerative clusters cannot place new rows: the script labels the sample's components."""
    csv = sample_dir / "titanic.csv"
    table = read_table(csv)
    recipe = Recipe(task="clustering", auto=False, drop=["survived"],
                    models=[ModelChoice("agglomerative", {"n_clusters": 3})])
    recipe.preparation.reduce = Reduction("pca", components=3)
    result = train(table.frame, recipe)
    source, out, _ = _run_script(result, table, csv, tmp_path, "titanic.csv")
    assert ".fit_predict(clone(model[:-1]).fit_transform(sample))" in source
    X = table.frame[result.plan.features]
    assert out["cluster"].tolist() == result.pipeline.predict(X).tolist()


def test_target_encoding_with_its_cross_fitting_folds_is_reproduced(tmp_path):
    """A many-level column target-encoded (as auto mode does for churn's surnames): the
    encoder's folds are written out, and the script gets tabwright's predictions."""
    rng = np.random.default_rng(5)
    n = 600
    names = np.array([f"name{i}" for i in range(150)])
    frame = pd.DataFrame({"surname": rng.choice(names, n), "age": rng.integers(18, 80, n)})
    frame["left"] = np.where(rng.random(n) < 0.3 + 0.004 * (frame["age"] - 18), "yes", "no")
    csv = tmp_path / "people.csv"
    frame.to_csv(csv, index=False)
    table = read_table(csv)
    recipe = Recipe(target="left", auto=False, models=[ModelChoice("logistic_regression")])
    recipe.preparation.columns["surname"] = ColumnPrep(encode="target")
    result = train(table.frame, recipe)
    source, out, _ = _run_script(result, table, csv, tmp_path, "people.csv")
    assert "TargetEncoder(" in source and "StratifiedKFold(n_splits=5" in source
    proba = result.pipeline.predict_proba(result.X_test)[:, 1]
    assert np.allclose(out["proba_yes"], proba)
