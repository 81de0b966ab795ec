"""AppTest of the Evaluate page: metrics, the good-enough verdict, next steps, confusion cells."""

from __future__ import annotations

import numpy as np

from core.metrics import METRICS
from core.recipe import Brief
from tests.pages.helpers_late import (  # noqa: F401
    PROJECT_KEY,
    open_page,
    table_with,
    texts,
    trained_project,
    workspace,
)


def test_metrics_a_met_bar_latency_and_the_model_itself(workspace):
    brief = Brief(bar_metric="recall", bar_value=0.5, interpretable=True, max_latency_ms=60_000)
    project = trained_project(brief=brief)
    at = open_page("evaluate", project)
    recall = project.result.evaluation["metrics"]["recall"]
    cards = {m.label: m.value for m in at.metric}
    assert cards["ROC-AUC ★"] == f"{project.result.evaluation['metrics']['roc_auc']:.4f}"
    assert cards["Recall"] == f"{recall:.4f}"
    assert "Log loss" in cards and "MCC" in cards
    assert any(m.help == METRICS["recall"].help for m in at.metric)
    captions = [c.value for c in at.caption]
    assert "Chance that a random positive row gets a higher score than a random negative one (0.5 = guessing)." in captions
    verdict = at.success[0].value
    assert verdict.startswith(f"Recall (positive class) {recall:.3g} on the test set; your bar is ≥ 0.5: met")
    assert any("One prediction takes about" in s.value and "met" in s.value for s in at.success)
    page = texts(at)
    assert "Export the model" in page
    assert "The model itself" in page
    coefficients = table_with(at, "coefficient")
    assert len(coefficients) == 20
    assert "decision threshold 0.500 (the default), positive class 1" in page


def test_an_unmet_bar_suggests_a_next_experiment_that_changes_the_recipe(workspace):
    project = trained_project(brief=Brief(bar_metric="recall", bar_value=0.95))
    at = open_page("evaluate", project)
    verdict = at.error[0].value
    assert "your bar is ≥ 0.95: not met" in verdict
    assert "Try gradient boosting" in texts(at)
    at.button(key="eval_next_add_hist_gradient_boosting").click().run()
    after = at.session_state[PROJECT_KEY]
    assert [m.name for m in after.recipe.models] == ["logistic_regression", "hist_gradient_boosting"]
    assert after.result is None and "were cleared" in after.cleared
    assert at.title[0].value.endswith("Train")


def test_no_bar_set_says_so_and_links_to_define(workspace):
    at = open_page("evaluate", trained_project())
    assert "No good-enough bar is set" in at.info[0].value
    assert "Set the bar on Define" in [link.label for link in at.get("page_link")]


def test_confusion_cell_selectboxes_show_exactly_that_cell(workspace):
    project = trained_project()
    result = project.result
    at = open_page("evaluate", project)
    predicted = result.pipeline.predict(result.X_test)
    truth = result.y_test.to_numpy()
    for true_label, pred_label in ((1, 0), (0, 1), (1, 1)):
        at.selectbox(key="eval_cm_true_none").select(true_label)
        at.selectbox(key="eval_cm_pred_none").select(pred_label).run()
        rows = table_with(at, "embark_town")
        expected = result.X_test.index[(truth == true_label) & (predicted == pred_label)]
        assert list(rows.index) == list(expected)
        counts = result.evaluation["confusion_matrix"]["counts"]
        assert len(rows) == counts[true_label][pred_label]
        assert f"{len(rows)} test row(s) truly {true_label} and predicted {pred_label}" in texts(at)
    assert np.isin(["age", "sex"], rows.columns).all()


def _trained_csv(tmp_path, frame, target, task, models):
    from core.project import update_recipe, with_result
    from core.recipe import ModelChoice
    from core.train._runner import train
    from tests.pages.conftest import project_from_csv

    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    project = project_from_csv(path, target, task=task)
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [ModelChoice(m) for m in models]
    project = update_recipe(project, recipe)
    result = train(project.frame, project.recipe, inferred_roles=project.effective_roles())
    return with_result(project, result)


def test_regression_shows_error_metrics_and_residual_plots(workspace, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=300), "y": 3 * x + rng.normal(size=300)})
    project = _trained_csv(tmp_path, frame, "y", "regression", ["ridge"])
    at = open_page("evaluate", project)
    cards = {m.label: m.value for m in at.metric}
    assert cards["RMSE ★"] == f"{project.result.evaluation['metrics']['rmse']:.4f}"
    assert {"MAE", "R²", "Largest error"} <= set(cards)
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Residuals" in spec for spec in charts) and any("Predicted vs actual" in spec for spec in charts)
    assert "largest misses" in texts(at)


def test_clustering_shows_cluster_sizes_and_profiles(workspace, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    centres = np.repeat([[0, 0], [6, 6], [0, 6]], 60, axis=0)
    frame = pd.DataFrame(centres + rng.normal(size=centres.shape), columns=["a", "b"])
    project = _trained_csv(tmp_path, frame, None, "clustering", ["kmeans"])
    at = open_page("evaluate", project)
    assert "Silhouette ★" in {m.label for m in at.metric}
    profiles = table_with(at, "all rows")
    assert len([c for c in profiles.columns if c.startswith("cluster ")]) == 3
    assert "Try other columns or another algorithm" in texts(at)
