"""AppTest of the Define page: the brief before and after data, and what it implies."""

from __future__ import annotations

from tests.pages.conftest import (
    current,
    open_page,
    page_text,
    plain,
    titanic,
    with_fake_result,
)


def test_the_brief_can_be_written_before_any_data(app):
    app.switch_page("pages/define.py")
    app.run()
    assert "No data yet" in page_text(app)
    app.text_area(key="brief_problem").input("Too many loans default.")
    app.text_area(key="brief_decision").input("Which applications a person reviews first.")
    app.selectbox(key="brief_metric").select("recall")
    app.number_input(key="brief_bar").set_value(0.7)
    app.number_input(key="brief_ideal").set_value(0.9)
    app.checkbox(key="brief_interpretable").check()
    app.number_input(key="brief_latency").set_value(50.0)
    app.number_input(key="brief_seconds").set_value(120.0)
    app.button[0].click()  # the form's submit button is the first button on the page
    app.run()
    assert not app.exception
    brief = current(app).recipe.brief
    assert (brief.problem, brief.decision) == ("Too many loans default.",
                                               "Which applications a person reviews first.")
    assert (brief.bar_metric, brief.bar_value, brief.ideal_value) == ("recall", 0.7, 0.9)
    assert brief.interpretable and brief.max_latency_ms == 50.0
    assert brief.max_training_seconds == 120.0
    assert current(app).recipe.time_budget == 120.0
    text = page_text(app)
    assert "Brief saved." in text
    assert "Good enough: Recall (positive class) of 0.7, ideally 0.9" in text
    assert "Constraints: readable models only, predictions within 50 ms, training within 120 s" in text


def test_with_data_it_proposes_the_framing_and_spells_out_the_accuracy_trap():
    at = open_page("define", titanic())
    text = page_text(at)
    assert "Proposed framing: predict survived — binary classification." in text
    assert "always 0 (62% of rows) and scores 62% accuracy" in text
    assert "Suggested metric: ROC-AUC." in text
    options = at.selectbox(key="brief_metric").options
    assert "ROC-AUC" in options and "RMSE" not in options  # only metrics valid for the task


def test_saving_the_brief_sets_the_metric_limits_models_and_clears_a_result():
    project = with_fake_result(titanic())
    at = open_page("define", project)
    at.selectbox(key="brief_metric").select("balanced_accuracy")
    at.number_input(key="brief_bar").set_value(0.75)
    at.checkbox(key="brief_interpretable").check()
    at.button[0].click()
    at.run()
    recipe = current(at).recipe
    assert recipe.metric == "balanced_accuracy"
    assert [m.name for m in recipe.models] == ["dummy", "logistic_regression"]
    assert current(at).result is None
    text = page_text(at)
    assert "Models will be ranked by Balanced accuracy." in text
    assert "Only readable models are kept: Baseline (no learning), Logistic regression." in text
    assert "You changed the brief: the trained model and its evaluation were cleared." in text


def test_a_metric_without_a_bar_is_refused_and_the_brief_is_kept():
    at = open_page("define", titanic())
    at.text_area(key="brief_problem").input("Who survives?")
    at.selectbox(key="brief_metric").select("roc_auc")
    at.button[0].click()
    at.run()
    assert "A good-enough bar needs a value, got none." in plain(at.error[0].value)
    assert current(at) is titanic()
