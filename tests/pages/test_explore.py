"""AppTest of the Explore page: charts, linked views, findings, the signal check, the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.project import update_recipe
from tests.pages.conftest import (
    current,
    open_page,
    page_text,
    plain,
    project_from_csv,
    titanic,
    with_fake_result,
)

CHARTS, LINKED, QUALITY, LEARN, REPORT = ("📈 Charts", "🔗 Linked views", "🧪 Data quality",
                                          "🎯 Can it learn?", "📑 Full report")


def test_it_needs_data_first(app):
    app.switch_page("pages/explore.py")
    app.run()
    assert "This step needs data to work on." in app.info[0].value
    assert not app.tabs


def test_the_charts_tab_draws_every_chart_for_the_target(monkeypatch):
    at = open_page("explore", titanic())
    assert [t.label for t in at.tabs] == [CHARTS, LINKED, QUALITY, LEARN, REPORT]
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # distribution, missing bar + pattern, correlation, feature vs target
    assert at.selectbox(key="explore_column").value == "survived"
    text = page_text(at)
    assert "Role boolean — Only two values, 0 (549 rows) and 1 (342 rows)" in text
    assert "Strongest: pclass & fare (r = -0.55)" in text
    at.selectbox(key="explore_feature").select("sex").run()
    assert "If the coloured shares differ between bars" in page_text(at)
    at.selectbox(key="explore_feature").select("age").run()
    assert "If the boxes sit at different heights" in page_text(at)


def test_big_tables_are_plotted_from_a_sample_and_say_so(monkeypatch):
    monkeypatch.setenv("TABWRIGHT_PLOT_SAMPLE_ROWS", "300")
    at = open_page("explore", titanic())
    assert "Charts show a random sample of 300 of 891 rows (limit plot_sample_rows)." in page_text(at)


def test_the_linked_views_tab_shows_two_brushable_plots():
    at = open_page("explore", titanic(), explore_tab=LINKED)
    assert not at.exception
    assert at.selectbox(key="linked_colour").value == "survived"
    assert (at.selectbox(key="linked_x1").value, at.selectbox(key="linked_y1").value) == ("fare", "age")
    assert len(at.get("bidi_component")) == 1  # streamlit-bokeh's component
    assert "Drag a box (or draw a lasso)" in page_text(at)


def test_applying_a_finding_changes_the_recipe_and_marks_it_applied():
    project = with_fake_result(titanic())
    at = open_page("explore", project, explore_tab=QUALITY)
    assert "1 warning" in page_text(at)
    button = at.button(key="apply_missing_values:deck")
    assert button.label == "Add a 'was missing' flag for deck"
    button.click().run()
    after = current(at)
    assert after.recipe.preparation.columns["deck"].missing_indicator is True
    assert after.applied == ("missing_values:deck",)
    assert after.result is None
    assert "Applied: Add a 'was missing' flag for deck." in plain(at.success[0].value)
    assert "You applied “Add a 'was missing' flag for deck”: the trained model" in at.warning[0].value
    applied = at.button(key="apply_missing_values:deck")
    assert (applied.label, applied.disabled) == ("Applied ✓", True)


def test_the_signal_check_gives_a_verdict_with_numbers():
    at = open_page("explore", titanic(), explore_tab=LEARN)
    assert plain(at.success[0].value).startswith("Strong signal: the features predict 'survived' well")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows checked"] == "891"
    assert metrics["Best single feature (AUC)"] == "0.780"
    assert 0.83 < float(metrics["All features together (AUC)"]) < 0.92
    classes = at.dataframe[1].value
    assert list(classes["Rows"]) == [549, 342]


def test_the_signal_check_says_weak_for_noise(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(list("xyz"), 300),
                          "outcome": rng.choice(["yes", "no"], 300)})
    path = tmp_path / "noise.csv"
    frame.to_csv(path, index=False)
    at = open_page("explore", project_from_csv(path, "outcome"), explore_tab=LEARN)
    assert plain(at.error[0].value).startswith("Weak signal — ML may not be the answer yet")


def test_the_signal_check_without_a_target_points_to_the_model_page():
    at = open_page("explore", titanic(target=None), explore_tab=LEARN)
    assert "The check needs a target" in at.info[0].value


def test_the_full_report_is_built_on_demand_in_a_sandboxed_frame(tmp_path):
    path = tmp_path / "small.csv"
    titanic().frame.head(150).to_csv(path, index=False)
    project = project_from_csv(path, "survived")
    at = open_page("explore", project, explore_tab=REPORT)
    assert not at.get("iframe")
    at.button(key="profile_build").click().run()
    frames = at.get("iframe")
    assert len(frames) == 1
    srcdoc = frames[0].proto.srcdoc
    assert 'sandbox="allow-scripts allow-popups"' in srcdoc and "allow-same-origin" not in srcdoc
    assert "Profiled all 150 rows (minimal report)." in page_text(at)


def test_dropped_columns_are_left_out_of_the_signal_check():
    project = titanic()
    recipe = project.recipe.copy()
    recipe.drop = ["sex", "who", "adult_male"]
    at = open_page("explore", update_recipe(project, recipe), explore_tab=LEARN)
    features = list(at.dataframe[0].value["Feature"])
    assert "sex" not in features and "who" not in features and "fare" in features
