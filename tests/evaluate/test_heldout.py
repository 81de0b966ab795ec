"""Tests for core.evaluate._heldout: numbers agree with scikit-learn, and every result is JSON-safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from core.errors import TabwrightError
from core.evaluate._heldout import (
    diagnose_fit,
    error_analysis,
    evaluate_classifier,
    evaluate_clustering,
    evaluate_regressor,
    learning_curve_data,
    permutation_importance_data,
    rows_for_confusion_cell,
)
from core.metrics import METRICS

DATASETS = "/work/shared/datasets"


def dumps(result) -> str:
    """The contract every output keeps: strict JSON, no NaN, no numpy types."""
    return json.dumps(result, allow_nan=False)


def make_prep(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    )


TITANIC_NUM = ["pclass", "age", "fare", "sibsp"]
TITANIC_CAT = ["sex", "embarked"]


@pytest.fixture(scope="module")
def titanic():
    df = pd.read_csv(f"{DATASETS}/titanic.csv")
    X, y = df[TITANIC_NUM + TITANIC_CAT], df["survived"]
    return X.iloc[:600], y.iloc[:600], X.iloc[600:], y.iloc[600:]


@pytest.fixture(scope="module")
def titanic_lr(titanic):
    X_train, y_train, _, _ = titanic
    model = LogisticRegression(max_iter=1000)
    return Pipeline([("prep", make_prep(TITANIC_NUM, TITANIC_CAT)), ("model", model)]).fit(X_train, y_train)


@pytest.fixture(scope="module")
def titanic_svc(titanic):
    X_train, y_train, _, _ = titanic
    return Pipeline([("prep", make_prep(TITANIC_NUM, TITANIC_CAT)), ("model", LinearSVC())]).fit(
        X_train, y_train
    )


@pytest.fixture(scope="module")
def three_classes():
    Xa, ya = make_classification(
        n_samples=600, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    X = pd.DataFrame(Xa, columns=[f"x{i}" for i in range(5)])
    X["colour"] = np.where(ya == 2, "red", np.where(Xa[:, 0] > 0, "blue", "green"))
    y = pd.Series(np.array(["ant", "bee", "cat"])[ya], name="animal")
    pipe = Pipeline(
        [("prep", make_prep([f"x{i}" for i in range(5)], ["colour"])), ("model", LogisticRegression(max_iter=1000))]
    ).fit(X.iloc[:400], y.iloc[:400])
    return pipe, X.iloc[400:], y.iloc[400:]


@pytest.fixture(scope="module")
def housing():
    df = pd.read_csv(f"{DATASETS}/california_housing.csv").sample(3000, random_state=0)
    numeric = [c for c in df.columns if c not in ("median_house_value", "ocean_proximity")]
    X, y = df[numeric + ["ocean_proximity"]], df["median_house_value"]
    pipe = Pipeline([("prep", make_prep(numeric, ["ocean_proximity"])), ("model", Ridge())])
    pipe.fit(X.iloc[:2000], y.iloc[:2000])
    return pipe, X.iloc[2000:], y.iloc[2000:]


# --------------------------------------------------------------------------- binary


def test_binary_metrics_equal_sklearn(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    result = evaluate_classifier(titanic_lr, X_test, y_test)
    proba = titanic_lr.predict_proba(X_test)[:, 1]
    y_pred = (proba >= 0.5).astype(int)
    m = result["metrics"]

    assert result["task"] == "binary"
    assert result["classes"] == [0, 1]
    assert result["positive_label"] == 1  # survivors are the minority in the test rows
    assert result["threshold"] == 0.5
    assert result["n_test"] == len(y_test)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_test, y_pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_test, y_pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y_test, y_pred, average="macro"))
    assert m["precision_weighted"] == pytest.approx(skm.precision_score(y_test, y_pred, average="weighted"))
    assert m["recall_weighted"] == pytest.approx(m["accuracy"])
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y_test, y_pred))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_test, titanic_lr.predict_proba(X_test)))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test, proba))
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(y_test, proba))
    assert m["precision"] == pytest.approx(skm.precision_score(y_test, y_pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y_test, y_pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y_test, y_pred))
    assert set(m) <= set(METRICS)
    assert result["baseline"] == {
        "majority_class": 0,
        "accuracy": pytest.approx((y_test == 0).mean()),
    }
    per_class = {row["class"]: row for row in result["per_class"]}
    assert per_class[0]["recall"] == pytest.approx(skm.recall_score(y_test, y_pred, pos_label=0))
    assert per_class[1]["support"] == int((y_test == 1).sum())
    dumps(result)


def test_confusion_matrix_counts_and_row_shares(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    cm = evaluate_classifier(titanic_lr, X_test, y_test)["confusion_matrix"]
    counts = np.array(cm["counts"])
    assert cm["labels"] == [0, 1]
    assert counts.sum() == len(y_test)
    assert counts.tolist() == skm.confusion_matrix(y_test, titanic_lr.predict(X_test)).tolist()
    assert np.allclose(np.sum(cm["normalized"], axis=1), 1.0)
    assert cm["normalized"][1][1] == pytest.approx(counts[1, 1] / counts[1].sum())


def test_threshold_changes_predictions(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    proba = titanic_lr.predict_proba(X_test)[:, 1]
    low = evaluate_classifier(titanic_lr, X_test, y_test, threshold=0.2)
    high = evaluate_classifier(titanic_lr, X_test, y_test, threshold=0.8)
    predicted_positive = lambda r: np.array(r["confusion_matrix"]["counts"])[:, 1].sum()  # noqa: E731

    assert low["threshold"] == 0.2 and high["threshold"] == 0.8
    assert predicted_positive(low) == int((proba >= 0.2).sum())
    assert predicted_positive(high) == int((proba >= 0.8).sum())
    assert low["metrics"]["recall"] > high["metrics"]["recall"]
    assert low["metrics"]["precision"] < high["metrics"]["precision"]
    # Ranking metrics do not depend on the threshold.
    assert low["metrics"]["roc_auc"] == high["metrics"]["roc_auc"]


def test_threshold_outside_zero_one_is_refused(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    with pytest.raises(TabwrightError, match="between 0 and 1"):
        evaluate_classifier(titanic_lr, X_test, y_test, threshold=1.5)


def test_explicit_positive_label_flips_the_point_of_view(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    result = evaluate_classifier(titanic_lr, X_test, y_test, positive_label=0)
    proba0 = titanic_lr.predict_proba(X_test)[:, 0]
    y_pred = np.where(proba0 >= 0.5, 0, 1)
    assert result["positive_label"] == 0
    assert result["metrics"]["recall"] == pytest.approx(skm.recall_score(y_test, y_pred, pos_label=0))
    assert result["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test == 0, proba0))
    with pytest.raises(TabwrightError, match="positive_label"):
        evaluate_classifier(titanic_lr, X_test, y_test, positive_label="yes")


def test_positive_label_tie_goes_to_last_class():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    y = pd.Series(["no", "no", "no", "yes", "yes", "yes"])
    pipe = Pipeline([("prep", make_prep(["x"], [])), ("model", LogisticRegression())]).fit(X, y)
    assert evaluate_classifier(pipe, X, y)["positive_label"] == "yes"
    assert evaluate_classifier(pipe, X.iloc[1:], y.iloc[1:])["positive_label"] == "no"


def test_curves_are_downsampled_and_keep_their_ends(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    result = evaluate_classifier(titanic_lr, X_test, y_test, max_curve_points=20)
    roc, pr = result["roc_curve"], result["pr_curve"]
    assert 2 <= len(roc["fpr"]) <= 20
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert roc["thresholds"][0] is None  # scikit-learn's +inf start, not valid JSON
    assert len(pr["precision"]) == len(pr["recall"]) == len(pr["thresholds"]) <= 20
    assert pr["recall"][0] == 1.0 and pr["recall"][-1] == 0.0
    assert pr["positive_rate"] == pytest.approx((y_test == 1).mean())
    assert np.all(np.diff(roc["fpr"]) >= 0)


def test_calibration_matches_sklearn_and_counts_every_row(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    calibration = evaluate_classifier(titanic_lr, X_test, y_test)["calibration"]
    proba = titanic_lr.predict_proba(X_test)[:, 1]
    prob_true, prob_pred = calibration_curve(y_test, proba, n_bins=10, strategy="quantile")
    assert calibration["prob_true"] == pytest.approx(prob_true.tolist())
    assert calibration["prob_pred"] == pytest.approx(prob_pred.tolist())
    assert len(calibration["counts"]) == len(prob_true)
    assert sum(calibration["counts"]) == len(y_test)


def test_model_without_predict_proba_uses_decision_scores(titanic, titanic_svc):
    _, _, X_test, y_test = titanic
    result = evaluate_classifier(titanic_svc, X_test, y_test)
    decision = titanic_svc.decision_function(X_test)
    assert result["score_kind"] == "decision"
    assert result["threshold"] == 0.0
    assert result["metrics"]["log_loss"] is None
    assert result["calibration"] is None
    assert any("no probabilities" in note for note in result["notes"])
    assert result["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y_test, decision))
    assert result["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(y_test, (decision >= 0).astype(int))
    )
    shifted = evaluate_classifier(titanic_svc, X_test, y_test, threshold=1.0)
    assert np.array(shifted["confusion_matrix"]["counts"])[:, 1].sum() == int((decision >= 1.0).sum())
    dumps(result)


def test_unseen_test_label_is_refused(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    y_bad = y_test.copy()
    y_bad.iloc[0] = 7
    with pytest.raises(TabwrightError, match="never saw") as info:
        evaluate_classifier(titanic_lr, X_test, y_bad)
    assert "stratified" in info.value.hint


# --------------------------------------------------------------------------- multiclass


def test_multiclass_auc_and_one_vs_rest_curves(three_classes):
    pipe, X_test, y_test = three_classes
    result = evaluate_classifier(pipe, X_test, y_test, threshold=0.3)
    proba = pipe.predict_proba(X_test)
    assert result["task"] == "multiclass"
    assert result["classes"] == ["ant", "bee", "cat"]
    assert result["threshold"] is None
    assert any("ignored" in note for note in result["notes"])
    assert result["metrics"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y_test, proba, multi_class="ovr", average="macro")
    )
    assert result["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y_test, pipe.predict(X_test)))
    assert [c["class"] for c in result["roc_curve"]["one_vs_rest"]] == ["ant", "bee", "cat"]
    assert [c["class"] for c in result["pr_curve"]["one_vs_rest"]] == ["ant", "bee", "cat"]
    assert "precision" not in result["metrics"]  # positive-class metrics are binary only
    assert np.array(result["confusion_matrix"]["counts"]).shape == (3, 3)
    assert np.allclose(np.sum(result["confusion_matrix"]["normalized"], axis=1), 1.0)
    dumps(result)


def test_class_missing_from_test_set_gives_no_auc_and_says_why(three_classes):
    pipe, X_test, y_test = three_classes
    keep = (y_test != "cat").to_numpy()
    result = evaluate_classifier(pipe, X_test[keep], y_test[keep])
    assert result["metrics"]["roc_auc"] is None
    assert any("no rows of class 'cat'" in note for note in result["notes"])
    assert result["confusion_matrix"]["normalized"][2] == [None, None, None]
    assert sum(map(sum, result["confusion_matrix"]["counts"])) == int(keep.sum())
    assert [c["class"] for c in result["roc_curve"]["one_vs_rest"]] == ["ant", "bee"]
    # the macro F1 averages the classes the rows hold or the model predicts, as scikit-learn does
    predicted = pipe.predict(X_test[keep])
    assert result["metrics"]["f1_macro"] == pytest.approx(
        skm.f1_score(y_test[keep], predicted, average="macro", zero_division=0))
    if "cat" not in set(predicted):
        assert any("leave out the classes with no test rows" in n and "'cat'" in n
                   for n in result["notes"])
    dumps(result)


def test_gradient_boosting_multiclass_end_to_end(three_classes):
    _, X_test, y_test = three_classes
    pipe = Pipeline(
        [
            ("prep", make_prep([f"x{i}" for i in range(5)], ["colour"])),
            ("model", HistGradientBoostingClassifier(max_iter=30, random_state=0)),
        ]
    ).fit(X_test, y_test)  # fitted and scored on the same rows: only the plumbing is under test
    result = evaluate_classifier(pipe, X_test, y_test)
    counts = np.array(result["confusion_matrix"]["counts"])
    assert result["metrics"]["log_loss"] == pytest.approx(skm.log_loss(y_test, pipe.predict_proba(X_test)))
    rows = rows_for_confusion_cell(pipe, X_test, y_test, true_label="bee", predicted_label="bee")
    assert len(rows) == counts[1, 1]
    assert (y_test.loc[rows.index] == "bee").all()
    worst = error_analysis(pipe, X_test, y_test, task="multiclass", n=3)["worst"]
    assert len(worst) == 3 and "false_positives" not in error_analysis(pipe, X_test, y_test, task="multiclass")
    dumps([result, worst])


# --------------------------------------------------------------------------- confusion cells


def test_rows_for_confusion_cell_are_exactly_that_cell(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    proba = titanic_lr.predict_proba(X_test)[:, 1]
    for threshold in (None, 0.3):
        t = 0.5 if threshold is None else threshold
        counts = evaluate_classifier(titanic_lr, X_test, y_test, threshold=threshold)["confusion_matrix"]["counts"]
        for true in (0, 1):
            for predicted in (0, 1):
                rows = rows_for_confusion_cell(
                    titanic_lr, X_test, y_test, true_label=true, predicted_label=predicted, threshold=threshold
                )
                expected = X_test.index[(y_test.to_numpy() == true) & ((proba >= t).astype(int) == predicted)]
                assert rows.index.tolist() == expected.tolist()
                assert len(rows) == counts[true][predicted]
                assert list(rows.columns) == list(X_test.columns)
    limited = rows_for_confusion_cell(titanic_lr, X_test, y_test, true_label=0, predicted_label=0, limit=5)
    assert len(limited) == 5
    with pytest.raises(TabwrightError, match="true_label"):
        rows_for_confusion_cell(titanic_lr, X_test, y_test, true_label=3, predicted_label=0)


# --------------------------------------------------------------------------- regression


def test_regression_metrics_equal_sklearn(housing):
    pipe, X_test, y_test = housing
    result = evaluate_regressor(pipe, X_test, y_test, max_points=300)
    y_pred = pipe.predict(X_test)
    m = result["metrics"]
    assert result["task"] == "regression" and result["n_test"] == len(y_test)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y_test, y_pred))
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y_test, y_pred))
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y_test, y_pred))
    assert m["r2"] == pytest.approx(skm.r2_score(y_test, y_pred))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y_test, y_pred))
    assert m["median_ae"] == pytest.approx(skm.median_absolute_error(y_test, y_pred))
    assert m["max_error"] == pytest.approx(skm.max_error(y_test, y_pred))
    assert set(m) <= set(METRICS)

    residuals = result["residuals"]
    assert len(residuals["predicted"]) == len(residuals["actual"]) == len(residuals["index"]) == 300
    assert np.allclose(np.subtract(residuals["actual"], residuals["predicted"]), residuals["residual"])
    assert y_test.loc[residuals["index"]].tolist() == residuals["actual"]
    assert evaluate_regressor(pipe, X_test, y_test, max_points=300)["residuals"] == residuals
    assert any("300 of 1000" in note for note in result["notes"])
    dumps(result)


def test_mape_is_none_when_a_target_is_zero():
    X = pd.DataFrame({"x": np.arange(20.0)})
    y = pd.Series(np.arange(20.0) * 2 - 10)  # contains 0
    pipe = Pipeline([("prep", make_prep(["x"], [])), ("model", Ridge())]).fit(X, y)
    result = evaluate_regressor(pipe, X, y)
    assert result["metrics"]["mape"] is None
    assert any("MAPE" in note and "0" in note for note in result["notes"])
    assert result["metrics"]["mae"] is not None
    dumps(result)


def test_non_numeric_regression_target_is_refused(titanic, titanic_lr):
    _, _, X_test, _ = titanic
    with pytest.raises(TabwrightError, match="numeric"):
        evaluate_regressor(titanic_lr, X_test, X_test["sex"])


# --------------------------------------------------------------------------- clustering


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [6, 6], [0, 8]])
    group = np.repeat([0, 1, 2], 100)
    points = centres[group] + rng.normal(size=(300, 2))
    return pd.DataFrame(
        {"a": points[:, 0], "b": points[:, 1], "shape": np.array(["round", "square", "star"])[group]}
    )


def test_kmeans_clustering_scores_sizes_and_profiles(blobs):
    pipe = Pipeline(
        [("prep", make_prep(["a", "b"], ["shape"])), ("model", KMeans(3, n_init=3, random_state=0))]
    ).fit(blobs)
    result = evaluate_clustering(pipe, blobs, max_points=100)
    labels = pipe.predict(blobs)
    features = pipe[:-1].transform(blobs)
    assert result["task"] == "clustering" and result["n_clusters"] == 3
    assert sum(c["size"] for c in result["cluster_sizes"]) == len(blobs)
    assert result["metrics"]["davies_bouldin"] == pytest.approx(skm.davies_bouldin_score(features, labels))
    assert result["metrics"]["calinski_harabasz"] == pytest.approx(skm.calinski_harabasz_score(features, labels))
    assert -1 <= result["metrics"]["silhouette"] <= 1
    assert any("100 of 300" in note for note in result["notes"])
    full = evaluate_clustering(pipe, blobs)
    assert full["metrics"]["silhouette"] == pytest.approx(skm.silhouette_score(features, labels))
    profile = next(p for p in result["profiles"] if p["cluster"] == int(labels[0]))
    assert profile["values"]["a"] == {"kind": "numeric", "mean": pytest.approx(blobs["a"][labels == labels[0]].mean())}
    assert profile["values"]["shape"] == {"kind": "categorical", "top": "round", "top_share": 1.0}
    assert result["overall"]["shape"]["top_share"] == pytest.approx(1 / 3)
    assert set(result["metrics"]) <= set(METRICS)
    dumps(result)


def test_clustering_without_predict_uses_labels(blobs):
    pipe = Pipeline([("prep", make_prep(["a", "b"], [])), ("model", AgglomerativeClustering(3))])
    fitted_labels = pipe.fit_predict(blobs)
    implicit = evaluate_clustering(pipe, blobs)
    explicit = evaluate_clustering(pipe, blobs, labels=fitted_labels)
    assert implicit["metrics"] == explicit["metrics"]
    assert any("labels_" in note for note in implicit["notes"])
    with pytest.raises(TabwrightError, match="labels"):
        evaluate_clustering(pipe, blobs.iloc[:10])


def test_noise_rows_are_left_out_and_one_cluster_has_no_scores(blobs):
    pipe = Pipeline([("prep", make_prep(["a", "b"], [])), ("model", AgglomerativeClustering(3))])
    labels = pipe.fit_predict(blobs)
    noisy = labels.copy()
    noisy[:10] = -1
    result = evaluate_clustering(pipe, blobs, labels=noisy)
    features = pipe[:-1].transform(blobs)
    assert result["n_noise"] == 10 and result["n_clusters"] == 3
    assert result["metrics"]["silhouette"] == pytest.approx(skm.silhouette_score(features[10:], noisy[10:]))
    assert {c["cluster"] for c in result["cluster_sizes"]} == {-1, 0, 1, 2}

    single = evaluate_clustering(pipe, blobs, labels=np.zeros(len(blobs), dtype=int))
    assert single["metrics"] == {"silhouette": None, "davies_bouldin": None, "calinski_harabasz": None}
    assert any("at least 2 clusters" in note for note in single["notes"])
    dumps(single)


# --------------------------------------------------------------------------- fit diagnosis


def test_diagnose_fit_wording_and_thresholds():
    over = diagnose_fit(train_score=0.99, cv_mean=0.82, cv_std=0.02, metric="accuracy", greater_is_better=True)
    assert over["verdict"] == "overfitting"
    assert over["gap"] == pytest.approx(0.17)
    assert over["explanation"] == (
        "Training accuracy 0.99 vs cross-validation 0.82 ± 0.02: a gap of 0.17 suggests "
        "overfitting — try stronger regularisation, a simpler model, or more data."
    )
    under = diagnose_fit(train_score=0.62, cv_mean=0.6, cv_std=0.02, metric="r2", greater_is_better=True)
    assert under["verdict"] == "underfitting" and "0.62" in under["explanation"]
    good = diagnose_fit(train_score=0.86, cv_mean=0.84, cv_std=0.01, metric="f1_macro", greater_is_better=True)
    assert good["verdict"] == "good fit"
    # A gap inside the fold-to-fold noise is not called overfitting.
    noisy = diagnose_fit(train_score=0.9, cv_mean=0.82, cv_std=0.06, metric="accuracy", greater_is_better=True)
    assert noisy["verdict"] == "good fit"
    dumps([over, under, good, noisy])


def test_diagnose_fit_for_errors_where_lower_is_better():
    over = diagnose_fit(train_score=10.0, cv_mean=20.0, cv_std=1.0, metric="rmse", greater_is_better=False)
    assert over["verdict"] == "overfitting" and over["gap"] == pytest.approx(10.0)
    assert "50%" in over["explanation"]
    good = diagnose_fit(train_score=19.0, cv_mean=20.0, cv_std=1.0, metric="rmse", greater_is_better=False)
    assert good["verdict"] == "good fit" and "baseline" in good["explanation"]
    assert "is small" in good["explanation"]
    # a 60% gap inside the folds' spread is not called small
    noisy = diagnose_fit(train_score=1.16, cv_mean=2.89, cv_std=0.892, metric="rmse",
                         greater_is_better=False)
    assert noisy["verdict"] == "good fit" and "is small, so" not in noisy["explanation"]
    assert "within twice the fold-to-fold spread (2 × 0.892)" in noisy["explanation"]
    neg = diagnose_fit(
        train_score=-10.0, cv_mean=-20.0, cv_std=1.0, metric="neg_mean_absolute_error", greater_is_better=True
    )
    assert neg["verdict"] == "overfitting"
    with pytest.raises(TabwrightError, match="cv_mean"):
        diagnose_fit(train_score=1.0, cv_mean=float("nan"), cv_std=0.0, metric="r2", greater_is_better=True)


def test_deep_tree_on_noisy_data_is_called_overfitting():
    Xa, ya = make_classification(n_samples=400, n_features=8, flip_y=0.2, random_state=0)
    X = pd.DataFrame(Xa, columns=[f"x{i}" for i in range(8)])
    pipe = Pipeline([("prep", make_prep(list(X.columns), [])), ("model", DecisionTreeClassifier(random_state=0))])
    cv = cross_val_score(pipe, X, ya, cv=5, scoring="accuracy")
    train = pipe.fit(X, ya).score(X, ya)
    result = diagnose_fit(
        train_score=train, cv_mean=cv.mean(), cv_std=cv.std(), metric="accuracy", greater_is_better=True
    )
    assert train == 1.0
    assert result["verdict"] == "overfitting"
    assert "regularisation" in result["explanation"]


# --------------------------------------------------------------------------- learning curves


def _logistic(columns: list[str]) -> Pipeline:
    return Pipeline([("prep", make_prep(columns, [])), ("model", LogisticRegression(max_iter=500))])


def test_learning_curve_says_more_data_helps_on_an_undersized_sample():
    Xa, ya = make_classification(
        n_samples=200, n_features=30, n_informative=20, n_redundant=0, random_state=0
    )
    X = pd.DataFrame(Xa, columns=[f"x{i}" for i in range(30)])
    unfitted = _logistic(list(X.columns))
    result = learning_curve_data(unfitted, X, pd.Series(ya), cv=5, scoring="accuracy")
    assert result["verdict"] == "more data would likely help"
    assert result["train_sizes"] == [16, 52, 88, 124, 160]
    assert result["valid_mean"][-1] > result["valid_mean"][0]
    assert "per doubling" in result["explanation"]
    assert not hasattr(unfitted[-1], "coef_")  # the caller's pipeline is cloned, never fitted
    dumps(result)


def test_learning_curve_says_more_data_is_unlikely_to_help_when_converged():
    Xa, ya = make_classification(n_samples=1500, n_features=3, n_informative=2, n_redundant=0, random_state=0)
    X = pd.DataFrame(Xa, columns=["a", "b", "c"])
    result = learning_curve_data(lambda: _logistic(["a", "b", "c"]), X, pd.Series(ya), cv=3, scoring="accuracy")
    assert result["verdict"] == "more data is unlikely to help"
    assert "agree" in result["explanation"]
    assert len(result["train_mean"]) == len(result["valid_std"]) == 5


# --------------------------------------------------------------------------- importance


def test_permutation_importance_ranks_signal_above_noise():
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame(
        {
            "noise": rng.normal(size=n),
            "signal": rng.normal(size=n),
            "colour": rng.choice(["red", "blue"], size=n),
        }
    )
    y = pd.Series((X["signal"] + 0.3 * rng.normal(size=n) > 0).astype(int))
    pipe = Pipeline([("prep", make_prep(["noise", "signal"], ["colour"])), ("model", LogisticRegression())])
    pipe.fit(X, y)
    result = permutation_importance_data(pipe, X, y, scoring="accuracy", n_repeats=3, max_rows=300)
    names = [row["feature"] for row in result]
    assert sorted(names) == ["colour", "noise", "signal"]  # raw columns, one entry each
    assert names[0] == "signal"
    by_name = {row["feature"]: row for row in result}
    assert by_name["signal"]["importance_mean"] > 0.2 > abs(by_name["noise"]["importance_mean"])
    means = [row["importance_mean"] for row in result]
    assert means == sorted(means, reverse=True)
    dumps(result)


# --------------------------------------------------------------------------- error analysis


def test_error_analysis_binary_lists(titanic, titanic_lr):
    _, _, X_test, y_test = titanic
    result = error_analysis(titanic_lr, X_test, y_test, task="binary", n=5)
    proba = titanic_lr.predict_proba(X_test)
    p_true = proba[np.arange(len(y_test)), y_test.to_numpy()]
    worst = result["worst"]
    assert [r["probability"] for r in worst] == pytest.approx(np.sort(p_true)[:5].tolist())
    assert all(r["true"] == y_test.loc[r["index"]] for r in worst)
    assert worst[0]["values"].keys() == set(X_test.columns)

    fp, fn = result["false_positives"], result["false_negatives"]
    assert len(fp) == len(fn) == 5
    assert all(r["true"] == 0 and r["predicted"] == 1 for r in fp)
    assert all(r["true"] == 1 and r["predicted"] == 0 for r in fn)
    assert [r["positive_probability"] for r in fp] == sorted((r["positive_probability"] for r in fp), reverse=True)
    assert max(r["positive_probability"] for r in fp) == pytest.approx(proba[(y_test == 0).to_numpy(), 1].max())
    # A missing age shows up as null, not NaN.
    dumps(error_analysis(titanic_lr, X_test, y_test, task="binary", n=len(X_test)))


def test_error_analysis_regression_largest_residuals_first(housing):
    pipe, X_test, y_test = housing
    result = error_analysis(pipe, X_test, y_test, task="regression", n=10)
    errors = np.abs(y_test.to_numpy() - pipe.predict(X_test))
    rows = result["largest_errors"]
    assert [abs(r["residual"]) for r in rows] == pytest.approx(np.sort(errors)[::-1][:10].tolist())
    assert rows[0]["actual"] == y_test.loc[rows[0]["index"]]
    assert rows[0]["values"]["ocean_proximity"] == X_test.loc[rows[0]["index"], "ocean_proximity"]
    dumps(result)
    with pytest.raises(TabwrightError, match="task"):
        error_analysis(pipe, X_test, y_test, task="ranking")


def test_error_analysis_without_probabilities_lists_misclassified_rows(titanic, titanic_svc):
    _, _, X_test, y_test = titanic
    result = error_analysis(titanic_svc, X_test, y_test, task="classification", n=50)
    assert result["worst"] and all(r["true"] != r["predicted"] and r["probability"] is None for r in result["worst"])
    assert any("no probabilities" in note for note in result["notes"])
    dumps(result)


def test_metric_help_is_one_plain_sentence_or_two_per_metric():
    for name, text in ((name, m.help) for name, m in METRICS.items()):
        assert text.endswith(".") and 20 < len(text) < 220, name


def test_on_a_wide_table_only_the_columns_the_predictions_follow_are_shuffled():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 60)), columns=[f"c{i}" for i in range(60)])
    X["colour"] = rng.choice(["red", "blue"], 400)
    y = pd.Series((X["c7"] + 0.5 * X["c3"] + rng.normal(scale=0.3, size=400) > 0).astype(int))
    model = make_pipeline(LogisticRegression()).fit(X.drop(columns="colour"), y)
    wide = X.drop(columns="colour")
    rows = permutation_importance_data(model, wide, y, scoring="roc_auc", max_columns=5)
    assert len(rows) == 5 and [r["feature"] for r in rows[:2]] == ["c7", "c3"]
    full = {r["feature"]: r["importance_mean"] for r in
            permutation_importance_data(model, wide, y, scoring="roc_auc")}
    assert rows[0]["importance_mean"] == pytest.approx(full["c7"], rel=0.2)
