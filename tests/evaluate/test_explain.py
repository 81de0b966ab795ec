"""Tests for core.evaluate._explain and _dependence: contributions that add up, and curves that
match the model.

The properties checked: contributions are per input column and add up exactly to the model's
output minus the expected value (probability for classifiers, value for regressors) for tree,
linear, ensemble, thresholded and decision-score models; a linear regression gets its exact
values; the sampled estimate agrees with Shapley values computed by brute force; partial
dependence agrees with predicting by hand; sentences say what the numbers say.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    VotingClassifier,
)
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from core.deliver import model_card
from core.errors import TabwrightError
from core.evaluate import _dependence as dep
from core.evaluate import _explain as ex
from core.evaluate.figures import contributions_figure, partial_dependence_figure
from core.project import Project, load_data, set_target
from core.recipe import ModelChoice
from core.train._runner import train


@pytest.fixture(autouse=True)
def one_thread():
    """Boosting uses every core by default, which crawls when other tests share the machine."""
    with threadpool_limits(1):
        yield


def dumps(result) -> str:
    return json.dumps(result, allow_nan=False)


def total(explanation) -> float:
    return explanation["expected_value"] + sum(c["contribution"] for c in explanation["contributions"])


def by_feature(explanation) -> dict:
    return {c["feature"]: c["contribution"] for c in explanation["contributions"]}


@pytest.fixture(scope="module")
def people() -> tuple[pd.DataFrame, pd.Series]:
    """Mixed columns with gaps: two numbers, a category, a boolean, a noise column."""
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({
        "age": rng.uniform(1, 80, n).round(),
        "fare": rng.lognormal(3, 1, n),
        "town": rng.choice(["north", "south", "east"], n),
        "adult": rng.random(n) < 0.6,
        "noise": rng.normal(size=n),
    })
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.05, "town"] = None
    logit = -0.04 * X["age"].fillna(30) + 0.02 * X["fare"] + (X["town"] == "south") * 1.5
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="label")
    return X, y


def prep() -> ColumnTransformer:
    return ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                              ("scale", StandardScaler())]), ["age", "fare", "noise"]),
        ("category", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                               ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]),
         ["town", "adult"]),
    ])


@pytest.fixture(scope="module")
def forest(people):
    X, y = people
    return Pipeline([("prep", prep()), ("model", RandomForestClassifier(n_estimators=50, random_state=0))]).fit(X, y)


@pytest.fixture(scope="module")
def logistic(people):
    X, y = people
    return Pipeline([("prep", prep()), ("model", LogisticRegression(max_iter=1000))]).fit(X, y)


# --------------------------------------------------------------------------- adding up


@pytest.mark.parametrize("name", ["forest", "logistic"])
def test_contributions_add_up_to_the_probability_per_input_column(request, people, name):
    model = request.getfixturevalue(name)
    X, _ = people
    for position in (0, 7, 33):
        row = X.iloc[[position]]
        out = ex.explain_prediction(model, row, X, task="binary", target="label")
        dumps(out)
        assert out["output"] == "probability" and out["class"] == "yes"
        assert total(out) == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-9)
        assert out["prediction"] == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-9)
        assert sorted(by_feature(out)) == sorted(X.columns)  # one each, the one-hot town included
        assert out["predicted"] == model.predict(row)[0]
        assert out["method"] == ("exact" if name == "forest" else "sampled")
        sizes = [abs(c["contribution"]) for c in out["contributions"]]
        assert sizes == sorted(sizes, reverse=True)


def test_the_expected_value_is_the_average_prediction_over_the_reference_rows(logistic, people):
    X, _ = people
    out = ex.explain_prediction(logistic, X.iloc[[3]], X, task="binary", seed=4)
    reference = ex.background_rows(X, rows=out["reference_rows"], seed=4)
    assert out["expected_value"] == pytest.approx(logistic.predict_proba(reference)[:, 1].mean())


def test_the_other_class_is_the_complement(forest, logistic, people):
    X, _ = people
    row = X.iloc[[5]]
    for model in (forest, logistic):
        yes = ex.explain_prediction(model, row, X, task="binary")
        no = ex.explain_prediction(model, row, X, task="binary", class_label="no")
        assert no["class"] == "no" and total(no) == pytest.approx(model.predict_proba(row)[0, 0])
        for feature, value in by_feature(yes).items():
            assert by_feature(no)[feature] == pytest.approx(-value, abs=1e-9)


def test_a_column_the_tree_never_uses_gets_exactly_nothing(people):
    X, y = people
    model = Pipeline([("prep", prep()), ("model", DecisionTreeClassifier(max_depth=3, random_state=0))])
    model.fit(X[["town", "age", "fare", "noise", "adult"]], X["town"].eq("south"))
    used = {model[0].get_feature_names_out()[i].split("__")[1].split("_")[0]
            for i in np.flatnonzero(model[-1].feature_importances_)}
    out = ex.explain_prediction(model, X.iloc[[2]], X, task="binary")
    assert out["method"] == "exact"
    for feature, value in by_feature(out).items():
        if feature not in used and not any(u.startswith(feature) for u in used):
            assert value == 0.0
    assert by_feature(out)["town"] != 0.0


def test_a_linear_regression_gets_its_exact_contributions(people):
    X, _ = people
    y = 2.0 * X["fare"] - 0.5 * X["age"].fillna(40) + (X["town"] == "east") * 7
    model = Pipeline([("prep", prep()), ("model", Ridge(alpha=1e-6))]).fit(X, y)
    row = X.iloc[[11]]
    out = ex.explain_prediction(model, row, X, task="regression", target="price")
    assert out["output"] == "value" and out["class"] is None
    assert total(out) == pytest.approx(model.predict(row)[0], rel=1e-9)
    reference = ex.background_rows(X, rows=out["reference_rows"], seed=0)
    coef, prepared = model[-1].coef_, model[0]
    names = prepared.get_feature_names_out()
    gap = prepared.transform(row)[0] - prepared.transform(reference).mean(axis=0)
    for feature in X.columns:
        mine = [i for i, n in enumerate(names) if n.split("__")[1] == feature
                or n.split("__")[1].startswith(f"{feature}_") or n.endswith(f"missingindicator_{feature}")]
        assert by_feature(out)[feature] == pytest.approx(float(coef[mine] @ gap[mine]), abs=1e-6)
    assert all(c["error"] == pytest.approx(0, abs=1e-9) for c in out["contributions"])
    assert "gives them exactly" in out["method_note"]


def exact_shapley(f, row: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Interventional Shapley values by enumerating every coalition (small d only)."""
    d = row.shape[1]
    value = {}
    for size in range(d + 1):
        for coalition in itertools.combinations(range(d), size):
            mixed = reference.copy()
            for j in coalition:
                mixed.iloc[:, j] = row.iloc[0, j]
            value[coalition] = f(mixed).mean()
    phi = np.zeros(d)
    for j in range(d):
        others = [k for k in range(d) if k != j]
        for size in range(d):
            weight = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
            for coalition in itertools.combinations(others, size):
                phi[j] += weight * (value[tuple(sorted((*coalition, j)))] - value[coalition])
    return phi


def test_the_sampled_estimate_agrees_with_brute_force_shapley_values():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    y = (X["a"] * X["b"] + X["c"] > 0)  # an interaction: orders matter
    model = Pipeline([("prep", ColumnTransformer([("numbers", "passthrough", list("abcd"))])),
                      ("model", HistGradientBoostingClassifier(max_iter=60, random_state=0))]).fit(X, y)
    row = X.iloc[[0]]
    out = ex.explain_prediction(model, row, X, task="binary", max_rows=40_000)
    assert out["method"] == "sampled"  # boosting adds log-odds: its probabilities are sampled
    reference = ex.background_rows(X, rows=out["reference_rows"], seed=0)
    truth = exact_shapley(lambda frame: model.predict_proba(frame)[:, 1], row, reference)
    np.testing.assert_allclose([by_feature(out)[c] for c in X.columns], truth, atol=0.01)
    assert total(out) == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-9)
    errors = [c["error"] for c in out["contributions"]]
    assert all(0 < e < 0.01 for e in errors)


def test_native_categories_fall_back_to_sampling_and_still_add_up(people):
    X, y = people
    prepared = ColumnTransformer([
        ("native", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                  encoded_missing_value=-1), ["town", "adult"]),
        ("numeric", "passthrough", ["age", "fare", "noise"])])
    model = Pipeline([("prep", prepared), ("model", HistGradientBoostingClassifier(
        categorical_features=[0, 1], max_iter=50, random_state=0))]).fit(X, y)
    row = X.iloc[[9]]
    out = ex.explain_prediction(model, row, X, task="binary")
    assert out["method"] == "sampled"
    assert total(out) == pytest.approx(model.predict_proba(row)[0, 1], abs=1e-9)


def test_an_averaging_ensemble_behind_a_threshold_adds_up_member_by_member(forest, logistic, people):
    X, y = people
    voting = Pipeline([("model", VotingClassifier(
        [("forest", forest), ("linear", logistic)], voting="soft", weights=[3.0, 1.0]))]).fit(X, y)
    wrapped = FixedThresholdClassifier(voting, threshold=0.2, response_method="predict_proba").fit(X, y)
    row = X.iloc[[4]]
    out = ex.explain_prediction(wrapped, row, X, task="binary")
    assert out["method"] == "mixed" and "ensemble's tree models" in out["method_note"]
    assert total(out) == pytest.approx(wrapped.predict_proba(row)[0, 1], abs=1e-9)
    assert out["predicted"] == wrapped.predict(row)[0]
    alone = [ex.explain_prediction(m, row, X, task="binary") for m in (voting[-1].estimators_)]
    for feature in X.columns:
        expected = 0.75 * by_feature(alone[0])[feature] + 0.25 * by_feature(alone[1])[feature]
        assert by_feature(out)[feature] == pytest.approx(expected, abs=1e-9)


def test_multiclass_explains_the_predicted_class_unless_told(people):
    X, _ = people
    y = X["town"].fillna("none")
    model = Pipeline([("prep", prep()), ("model", LogisticRegression(max_iter=1000))]).fit(X.drop(columns="town").assign(town="x"), y)
    row = X.iloc[[1]].assign(town="x")
    frame = X.assign(town="x")
    out = ex.explain_prediction(model, row, frame, task="multiclass")
    assert out["class"] == model.predict(row)[0]
    k = list(model.classes_).index(out["class"])
    assert total(out) == pytest.approx(model.predict_proba(row)[0, k])
    other = ex.explain_prediction(model, row, frame, task="multiclass", class_label="east")
    assert other["class"] == "east"
    assert total(other) == pytest.approx(model.predict_proba(row)[0, list(model.classes_).index("east")])


def test_a_model_without_probabilities_explains_its_decision_score(people):
    X, y = people
    model = Pipeline([("prep", prep()), ("model", LinearSVC())]).fit(X, y)
    row = X.iloc[[8]]
    out = ex.explain_prediction(model, row, X, task="binary", target="label")
    assert out["output"] == "decision score"
    assert total(out) == pytest.approx(model.decision_function(row)[0], rel=1e-9)
    assert out["sentence"].startswith("The model's score for label = yes is ")
    negative = ex.explain_prediction(model, row, X, task="binary", class_label="no")
    assert total(negative) == pytest.approx(-model.decision_function(row)[0], rel=1e-9)


def test_same_seed_same_numbers_and_row_values_in_words(logistic, people):
    X, _ = people
    row = X.iloc[[0]].assign(age=np.nan, town="a " * 40)
    first = ex.explain_prediction(logistic, row, X, task="binary", seed=3)
    again = ex.explain_prediction(logistic, row, X, task="binary", seed=3)
    assert first == again
    labels = {c["feature"]: c["label"] for c in first["contributions"]}
    assert labels["age"] == "age = (missing)"
    assert labels["town"].startswith("town = a a a") and labels["town"].endswith("…")
    assert len(labels["town"]) == len("town = ") + ex.VALUE_CHARS


def test_wrong_inputs_are_refused_in_words(logistic, people):
    X, _ = people
    with pytest.raises(TabwrightError, match="exactly one row, got 2 rows"):
        ex.explain_prediction(logistic, X.iloc[:2], X, task="binary")
    with pytest.raises(TabwrightError, match="lacks column"):
        ex.explain_prediction(logistic, X.iloc[[0]].drop(columns="fare"), X, task="binary")
    with pytest.raises(TabwrightError, match="must be one of the model's classes"):
        ex.explain_prediction(logistic, X.iloc[[0]], X, task="binary", class_label="maybe")
    with pytest.raises(TabwrightError, match="classification and regression"):
        ex.explain_prediction(logistic, X.iloc[[0]], X, task="clustering")


def test_the_sentence_names_the_biggest_pushes_with_their_size():
    explanation = {
        "output": "probability", "target": "survived", "class": 1, "prediction": 0.91,
        "expected_value": 0.38, "contributions": [
            {"label": "sex = female", "contribution": 0.27},
            {"label": "fare = 80", "contribution": 0.35},
            {"label": "pclass = 3", "contribution": -0.09},
            {"label": "age = 4", "contribution": 0.004}]}
    explanation["contributions"].sort(key=lambda c: -abs(c["contribution"]))
    assert ex.explanation_sentence(explanation) == (
        "The model gives this row a 91% chance of survived = 1, against 38% on average. "
        "fare = 80 (+35 points), then sex = female (+27 points) raise it most; "
        "pclass = 3 (−9 points) lowers it most.")
    value = {"output": "value", "target": "price", "class": None, "prediction": 250_000.4,
             "expected_value": 205_245.96, "contributions": [{"label": "rooms = 5", "contribution": 44_754.44}]}
    assert ex.explanation_sentence(value) == ("The model predicts 250,000 for price, against 205,246 "
                                              "on average. rooms = 5 (+44,754) raises it most; no "
                                              "column lowers it by much.")
    small = dict(explanation, contributions=[{"label": "who = man", "contribution": -0.2},
                                             {"label": "pclass = 3", "contribution": 0.001}])
    assert ex.explanation_sentence(small).endswith(
        "who = man (−20 points) lowers it most; no column raises it by much.")
    still = dict(value, prediction=205_245.96, contributions=[{"label": "x = 1", "contribution": 0.0}])
    assert ex.explanation_sentence(still).endswith("No column moves it away from the average.")


# --------------------------------------------------------------------------- prepared columns


def test_encoded_sources_follow_one_hot_indicators_interactions_and_selection(people):
    X, y = people
    prepared = ColumnTransformer([
        ("numeric", SimpleImputer(add_indicator=True), ["age", "fare"]),
        ("category", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["town", "adult"]),
        ("interactions", Pipeline([("impute", SimpleImputer()), ("poly", PolynomialFeatures(
            degree=2, interaction_only=True, include_bias=False))]), ["fare", "noise"]),
    ])
    model = Pipeline([("prep", prepared), ("select", SelectKBest(f_classif, k=6)),
                      ("model", DecisionTreeClassifier(random_state=0))]).fit(X, y)
    names = model[0].get_feature_names_out()
    full = Pipeline([("prep", model[0]), ("model", model[-1])])
    sources = ex.encoded_sources(full)
    assert len(sources) == len(names)
    expected = {"numeric__age": ("age",), "numeric__missingindicator_age": ("age",),
                "category__town_south": ("town",), "category__adult_True": ("adult",),
                "interactions__fare noise": ("fare", "noise"), "interactions__noise": ("noise",)}
    for name, source in zip(names, sources):
        if name in expected:
            assert source == expected[name], name
    kept = ex.encoded_sources(model)
    assert kept == [s for s, k in zip(sources, model[1].get_support()) if k]
    mixed = Pipeline([("prep", prep()), ("reduce", PCA(2)), ("model", LinearRegression())])
    mixed.fit(X, np.arange(len(X)))
    assert ex.encoded_sources(mixed) is None
    out = ex.explain_prediction(mixed, X.iloc[[0]], X, task="regression")
    assert out["method"] == "sampled" and total(out) == pytest.approx(mixed.predict(X.iloc[[0]])[0])


def test_interactions_are_split_between_their_inputs_and_still_add_up(people):
    X, _ = people
    y = X["fare"] * X["noise"]
    prepared = ColumnTransformer([("interactions", Pipeline([
        ("impute", SimpleImputer()),
        ("poly", PolynomialFeatures(degree=2, interaction_only=True, include_bias=False))]),
        ["fare", "noise"])])
    model = Pipeline([("prep", prepared), ("model", HistGradientBoostingRegressor(max_iter=50))])
    model.fit(X, y)
    out = ex.explain_prediction(model, X.iloc[[3]], X, task="regression")
    assert out["method"] == "exact"
    assert total(out) == pytest.approx(model.predict(X.iloc[[3]])[0], rel=1e-6)
    assert set(by_feature(out)) == set(X.columns)
    assert by_feature(out)["age"] == 0.0


# --------------------------------------------------------------------------- a real run and a bundle


@pytest.fixture(scope="module")
def titanic_run(sample_dir):
    project = set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                         "survived")
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice("logistic_regression")]
    return train(project.frame, recipe, inferred_roles=project.effective_roles())


def test_explain_for_a_run_uses_its_positive_class_and_training_rows(titanic_run):
    row = titanic_run.X_test.iloc[[0]]
    out = ex.explain_for(titanic_run, row)
    positive = titanic_run.evaluation["positive_label"]
    k = list(titanic_run.pipeline.classes_).index(positive)
    assert out["class"] == positive and out["target"] == "survived"
    assert total(out) == pytest.approx(titanic_run.pipeline.predict_proba(row)[0, k], abs=1e-9)
    assert out["what"] == f"chance of survived = {positive}"
    assert out["sentence"].startswith("The model gives this row a ")


def test_explain_rows_for_a_saved_model_ignores_extra_columns(titanic_run, sample_dir):
    card = json.loads(json.dumps(model_card(titanic_run)))
    frame = pd.read_csv(sample_dir / "titanic.csv").head(5)  # the target column is extra here
    table = ex.explain_rows(titanic_run.pipeline, card, frame)
    names = [c["name"] for c in card["input_schema"]["columns"]]
    assert list(table.columns) == ["prediction", "explained", "expected_value", "output",
                                   *[f"contribution_{n}" for n in names]]
    proba = titanic_run.pipeline.predict_proba(frame[names])[:, 1]
    np.testing.assert_allclose(table["output"], proba, atol=1e-9)
    sums = table["expected_value"] + table[[f"contribution_{n}" for n in names]].sum(axis=1)
    np.testing.assert_allclose(sums, proba, atol=1e-9)
    assert (table["explained"] == card["classes"][1]).all()
    assert table["expected_value"].nunique() == 1  # one reference for every row
    with pytest.raises(TabwrightError, match="lacks 1 column"):
        ex.explain_rows(titanic_run.pipeline, card, frame.drop(columns="fare"))


def test_reference_rows_follow_the_card_training_distributions(titanic_run):
    card = json.loads(json.dumps(model_card(titanic_run)))
    rows = ex.reference_rows(card, rows=2000, seed=1)
    schema = {c["name"]: c for c in card["input_schema"]["columns"]}
    assert list(rows.columns) == list(schema)
    fare = rows["fare"].dropna()
    assert fare.min() >= schema["fare"]["min"] and fare.max() <= schema["fare"]["max"]
    assert abs(fare.median() - titanic_run.X_train["fare"].median()) < 3
    assert rows["age"].isna().mean() == pytest.approx(schema["age"]["missing_fraction"], abs=0.04)
    assert set(rows["embark_town"].dropna()) <= set(schema["embark_town"]["levels"])
    assert (rows["pclass"].dropna() == rows["pclass"].dropna().round()).all()
    assert titanic_run.pipeline.predict_proba(rows).shape == (2000, 2)


# --------------------------------------------------------------------------- partial dependence


def test_partial_dependence_matches_predicting_by_hand(forest, people):
    X, _ = people
    curve = dep.partial_dependence_data(forest, X, "fare", task="binary", target="label", rows=300,
                                        grid=12, ice_lines=20, seed=2)
    dumps(curve)
    sample = X.sample(300, random_state=2)
    assert len(curve["grid"]) == 12 and len(curve["individual"]) == 20 and curve["rows"] == 300
    low, high = np.percentile(sample["fare"], [5, 95])
    assert curve["grid"][0] == pytest.approx(low) and curve["grid"][-1] == pytest.approx(high)
    for i in (0, 5, 11):
        by_hand = forest.predict_proba(sample.assign(fare=curve["grid"][i]))[:, 1]
        assert curve["average"][i] == pytest.approx(by_hand.mean())
        assert {round(v, 9) for v in by_hand} >= {round(line[i], 9) for line in curve["individual"]}
    other = dep.partial_dependence_data(forest, X, "fare", task="binary", class_label="no", rows=300,
                                        grid=12, seed=2)
    np.testing.assert_allclose(other["average"], 1 - np.asarray(curve["average"]))


def test_categories_with_gaps_and_whole_numbers_are_plotted(forest, people):
    X, _ = people
    town = dep.partial_dependence_data(forest, X, "town", task="binary", role="categorical")
    assert town["kind"] == "categorical"
    assert town["grid"] == X["town"].value_counts().index.tolist()
    whole = X.assign(age=X["age"].fillna(30).astype(int))
    age = dep.partial_dependence_data(forest, whole, "age", task="binary", grid=500)
    assert age["grid"] == sorted(whole["age"].unique().astype(float).tolist())
    with pytest.raises(TabwrightError, match="drawn for numbers and categories"):
        dep.partial_dependence_data(forest, X, "fare", task="binary", role="text")
    with pytest.raises(TabwrightError, match="no column 'nope'"):
        dep.partial_dependence_data(forest, X, "nope", task="binary")


def test_partial_dependence_sentences_read_the_curve():
    x = np.linspace(0, 10, 500)
    frame = pd.DataFrame({"x": x, "flat": np.random.default_rng(0).normal(size=500),
                          "kind": np.where(x > 5, "big", "small")})
    y = 3 * frame["x"] + 5
    linear = LinearRegression().fit(frame[["x", "flat"]], y)
    rises = dep.partial_dependence_data(linear, frame[["x", "flat"]], "x", task="regression", target="y")
    assert rises["sentence"].startswith("The predicted y rises from 6.5 to 33.5 (+27) as x goes from 0.5 to 9.5")
    assert "most of the change" not in rises["sentence"]  # a straight line changes everywhere
    flat = dep.partial_dependence_data(linear, frame[["x", "flat"]], "flat", task="regression", target="y")
    assert flat["sentence"].startswith("The predicted y hardly changes with flat")
    step = DecisionTreeClassifier(max_depth=1).fit(frame[["x"]], frame["x"] > 7)
    steps = dep.partial_dependence_data(step, frame[["x"]], "x", task="binary", target="late")
    assert steps["sentence"].startswith("The predicted chance of late = True rises from 0% to 100%")
    assert "most of the change happens between" in steps["sentence"]
    assert "between 6.71 and 7.02" in steps["sentence"]  # the grid points either side of 7
    kinds = Pipeline([("prep", ColumnTransformer([("c", OneHotEncoder(), ["kind"])])),
                      ("model", LogisticRegression())]).fit(frame[["kind"]], frame["x"] > 5)
    words = dep.partial_dependence_data(kinds, frame[["kind"]], "kind", task="binary",
                                        role="categorical", target="late")
    assert words["sentence"].startswith("The predicted chance of late = True is highest for kind = big (")
    assert "and lowest for small (" in words["sentence"]


def test_the_report_gets_figures_and_sentences_for_the_top_columns(titanic_run):
    importance = [{"feature": f, "importance_mean": m, "importance_std": 0.0}
                  for f, m in (("deck", 0.0), ("sex", 0.2), ("fare", 0.05), ("who", -0.01))]
    importance.sort(key=lambda r: -r["importance_mean"])
    assert dep.top_features(titanic_run, importance=importance, top=3) == ["sex", "fare"]
    items = dep.partial_dependence_report(titanic_run, importance=importance, top=3)
    assert [i["feature"] for i in items] == ["sex", "fare"]
    assert [i["id"] for i in items] == ["partial_dependence_0", "partial_dependence_1"]
    for item in items:
        dumps(item)
        assert item["section"] == "explain" and item["title"] == f"Effect of {item['feature']} (partial dependence)"
        assert item["sentence"] == item["curve"]["sentence"]
        assert item["figure"]["data"][-1]["y"] == pytest.approx(item["curve"]["average"])


# --------------------------------------------------------------------------- figures


def test_the_waterfall_goes_from_the_average_to_the_prediction(logistic, people):
    X, _ = people
    out = ex.explain_prediction(logistic, X.iloc[[0]], X, task="binary", target="label")
    fig = contributions_figure(out, bars=3)
    bars = fig.data[0]
    assert list(bars.y) == ["average prediction", *[c["label"] for c in out["contributions"][:3]],
                            "2 other columns", "this row"]
    assert list(bars.measure) == ["absolute", "relative", "relative", "relative", "relative", "total"]
    assert sum(bars.x[:-1]) == pytest.approx(out["prediction"])
    assert bars.text[-1] == f"{out['prediction']:.1%}"
    assert contributions_figure({}) is None


def test_the_partial_dependence_figure_draws_every_kept_row_and_the_average(forest, people):
    X, _ = people
    curve = dep.partial_dependence_data(forest, X, "town", task="binary", role="categorical", ice_lines=7)
    fig = partial_dependence_figure(curve)
    lines, average = fig.data
    assert sum(v is None for v in lines.x) == 7
    assert list(average.x) == [str(v) for v in curve["grid"]]
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.tickformat == ".0%"
    assert partial_dependence_figure({}) is None


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "decision", "categorical"])
def test_curves_in_one_prediction_equal_scikit_learns_partial_dependence(kind):
    from sklearn.compose import make_column_transformer
    from sklearn.inspection import partial_dependence
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.svm import LinearSVC

    from core.evaluate._dependence import _curves

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120),
                      "c": rng.choice(["x", "y", "z"], 120)})
    prep = make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough")
    y = {"binary": (X["a"] > 0).astype(int), "decision": (X["a"] > 0).astype(int),
         "categorical": (X["a"] > 0).astype(int),
         "multiclass": pd.cut(X["a"], [-9, -0.5, 0.5, 9], labels=False),
         "regression": 2 * X["a"] + X["b"]}[kind]
    model = make_pipeline(prep, {"regression": LinearRegression(), "decision": LinearSVC()}.get(
        kind, LogisticRegression())).fit(X, y)
    feature, values = ("c", np.array(["x", "z"], dtype=object)) if kind == "categorical" else \
        ("a", np.linspace(-1, 1, 7))
    response = {"regression": "auto", "decision": "decision_function"}.get(kind, "predict_proba")
    expected = partial_dependence(model, X, [feature], kind="both", response_method=response,
                                  categorical_features=[feature] if kind == "categorical" else None,
                                  custom_values={feature: values})
    average, individual = _curves(model, X, feature, values, response)
    np.testing.assert_allclose(average, expected["average"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(individual, expected["individual"], rtol=1e-9, atol=1e-12)
