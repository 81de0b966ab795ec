"""AppTest of the Evaluate page's "Why this prediction?" section: one row's contributions with
editable values (what if?), and partial dependence once it is switched on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluate._dependence import partial_dependence_for, top_features
from core.evaluate._experiment import importance_for
from core.evaluate._explain import explain_for
from core.formatting import escape_markdown, format_number
from core.project import update_recipe, with_result
from core.recipe import ModelChoice
from core.train._runner import train
from tests.pages.conftest import project_from_csv
from tests.pages.helpers_late import (  # noqa: F401
    open_page,
    texts,
    trained_project,
    workspace,
)

pytestmark = pytest.mark.usefixtures("workspace")  # a fresh run history for every test


def card(at, label: str):
    """The metric whose label (Markdown escapes removed) is ``label``."""
    found = [m for m in at.metric if m.label.replace("\\", "") == label]
    assert found, [m.label for m in at.metric]
    return found[0]


def charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def trained_from(tmp_path, frame: pd.DataFrame, target: str | None, task: str, models: list[str]):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    project = project_from_csv(path, target, task=task)
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice(m) for m in models]
    project = update_recipe(project, recipe)
    return with_result(project, train(project.frame, project.recipe,
                                      inferred_roles=project.effective_roles()))


def test_a_test_row_is_explained_and_follows_every_edit():
    project = trained_project()
    result = project.result
    at = open_page("evaluate", project)
    chance = lambda row: result.pipeline.predict_proba(row)[0, 1]  # noqa: E731
    assert card(at, "Chance of survived = 1").value == f"{chance(result.X_test.iloc[[0]]):.1%}"
    assert any("Why this prediction" in spec for spec in charts(at))

    at.selectbox(key="explain_row").set_value(5).run()
    row = result.X_test.iloc[[5]]
    assert card(at, "Chance of survived = 1").value == f"{chance(row):.1%}"
    assert f"True class: {result.y_test.iloc[5]}." in texts(at)
    sentence = explain_for(result, row)["sentence"]
    assert escape_markdown(sentence) in [m.value for m in at.markdown]

    sex = list(row.columns).index("sex")
    other = "male" if row["sex"].iloc[0] == "female" else "female"
    at.selectbox(key=f"explain_5_{sex}").set_value(other).run()
    edited = row.assign(sex=other)
    metric = card(at, "Chance of survived = 1")
    assert metric.value == f"{chance(edited):.1%}"
    change = (chance(edited) - chance(row)) * 100
    assert metric.proto.delta == f"{change:+.1f} points vs the test row"
    assert "You changed the row." in texts(at)

    fare = list(row.columns).index("fare")
    at.number_input(key=f"explain_5_{fare}").set_value(500.0).run()
    assert card(at, "Chance of survived = 1").value == f"{chance(edited.assign(fare=500.0)):.1%}"
    assert not at.exception


def test_a_missing_value_is_shown_as_missing_and_can_be_filled_in():
    project = trained_project()
    result = project.result
    at = open_page("evaluate", project)
    position = int(np.flatnonzero(result.X_test["deck"].isna().to_numpy())[0])
    at.selectbox(key="explain_row").set_value(position).run()
    deck = list(result.X_test.columns).index("deck")
    box = at.selectbox(key=f"explain_{position}_{deck}")
    assert box.value is None and box.format_func(box.value) == "(missing)"
    waterfall = next(spec for spec in charts(at) if "Why this prediction" in spec)
    assert "deck = (missing)" in waterfall
    box.set_value("C").run()
    filled = result.X_test.iloc[[position]].assign(deck="C")
    assert card(at, "Chance of survived = 1").value == f"{result.pipeline.predict_proba(filled)[0, 1]:.1%}"
    waterfall = next(spec for spec in charts(at) if "Why this prediction" in spec)
    assert "deck = C" in waterfall


def test_partial_dependence_waits_for_the_switch_then_plots_the_top_columns():
    project = trained_project()
    result = project.result
    at = open_page("evaluate", project)
    assert not any("partial dependence" in spec for spec in charts(at))
    at.toggle(key="explain_pdp_shown").set_value(True).run()
    chosen = at.multiselect(key="explain_pdp_columns").value
    assert chosen == top_features(result, importance=importance_for(result))
    assert sum("partial dependence" in spec for spec in charts(at)) == len(chosen)
    at.multiselect(key="explain_pdp_columns").set_value(["age"]).run()
    assert sum("partial dependence" in spec for spec in charts(at)) == 1
    sentence = partial_dependence_for(result, "age")["sentence"]
    assert sentence.startswith("The predicted chance of survived = 1")
    assert escape_markdown(sentence) in [m.value for m in at.markdown]


def test_a_regression_explains_the_value_and_escapes_column_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"$x*": x, "noise": rng.normal(size=300), "y": 3 * x + rng.normal(size=300)})
    project = trained_from(tmp_path, frame, "y", "regression", ["ridge"])
    result = project.result
    at = open_page("evaluate", project)
    row = result.X_test.iloc[[0]]
    assert card(at, "Prediction").value == format_number(result.pipeline.predict(row)[0])
    explanation = explain_for(result, row)
    assert explanation["sentence"].startswith("The model predicts ")
    shown = [m.value for m in at.markdown]
    assert escape_markdown(explanation["sentence"]) in shown
    assert r"\$x\*" in escape_markdown(explanation["sentence"])
    assert f"Actual value: {format_number(result.y_test.iloc[0])}." in texts(at)
    assert not at.exception


def test_multiclass_explains_the_class_the_user_picks(tmp_path):
    rng = np.random.default_rng(1)
    centres = np.repeat([[0, 0], [4, 0], [0, 4]], 80, axis=0)
    frame = pd.DataFrame(centres + rng.normal(size=centres.shape), columns=["a", "b"])
    frame["kind"] = np.repeat(["red", "green", "blue"], 80)
    project = trained_from(tmp_path, frame, "kind", "multiclass", ["logistic_regression"])
    result = project.result
    at = open_page("evaluate", project)
    row = result.X_test.iloc[[0]]
    predicted = result.pipeline.predict(row)[0]
    assert card(at, f"Chance of kind = {predicted}")
    at.selectbox(key="explain_class").set_value("blue").run()
    k = list(result.pipeline.classes_).index("blue")
    assert card(at, "Chance of kind = blue").value == f"{result.pipeline.predict_proba(row)[0, k]:.1%}"


def test_a_clustering_has_nothing_to_explain(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 2)), columns=["a", "b"])
    project = trained_from(tmp_path, frame, None, "clustering", ["kmeans"])
    at = open_page("evaluate", project)
    assert "Why this prediction?" not in texts(at)
    assert not at.exception
