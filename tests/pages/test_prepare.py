"""AppTest of the Prepare page: the per-column table, global options and the preview."""

from __future__ import annotations

import json

from core.recipe import Reduction
from tests.pages.conftest import (
    current,
    edit_table,
    open_page,
    page_text,
    plain,
    titanic,
    with_fake_result,
)


def _row(at, column: str) -> int:
    table = at.data_editor[0].value
    return int(table.index[table["Column"] == column][0])


def test_the_table_has_one_row_per_feature_with_reasons():
    at = open_page("prepare", titanic())
    table = at.data_editor[0].value
    assert "survived" not in set(table["Column"]) and len(table) == 13
    assert list(table.columns) == ["Column", "Role", "Reason", "Missing", "Drop", "Impute",
                                   "Fill value", "Missing flag", "Outliers", "Scale", "Encode", "Bins"]
    age = table.set_index("Column").loc["age"]
    assert (age["Role"], age["Impute"], age["Scale"]) == ("numeric", "auto", "auto")
    assert age["Reason"] == "Gaps filled (default); scaled for linear models."


def test_applying_the_form_changes_the_recipe_and_clears_the_trained_model():
    at = open_page("prepare", with_fake_result(titanic()))
    edit_table(at, at.data_editor[0].key, {
        _row(at, "age"): {"Impute": "mean", "Missing flag": True, "Outliers": "clip_iqr"},
        _row(at, "embark_town"): {"Drop": True},
        _row(at, "fare"): {"Bins": 4},
    })
    at.selectbox(key="prep_numeric_impute").select("mean")
    at.number_input(key="prep_max_levels").set_value(10)
    at.multiselect(key="prep_interactions").set_value(["age", "fare"])
    at.multiselect(key="prep_polynomial").set_value(["sibsp", "parch"])
    at.checkbox(key="prep_drop_duplicates").check()
    at.selectbox(key="prep_precision").select("float32")
    at.button[0].click()  # "Apply preparation", the form's submit button
    at.run()
    assert not at.exception
    project = current(at)
    recipe = project.recipe
    age = recipe.preparation.columns["age"]
    assert (age.impute, age.missing_indicator, age.outliers) == ("mean", True, "clip_iqr")
    assert recipe.preparation.columns["fare"].bins == 4
    assert "embark_town" in recipe.drop
    assert recipe.preparation.numeric_impute == "mean" and recipe.preparation.max_levels == 10
    assert recipe.features.interactions == ["age", "fare"]
    assert recipe.features.polynomial == ["sibsp", "parch"]
    assert recipe.drop_duplicate_rows
    assert recipe.preparation.precision == "float32"
    assert project.result is None
    text = page_text(at)
    assert "Preparation updated" in text
    assert "You changed the preparation: the trained model and its evaluation were cleared." in text
    assert "embark_town (you chose to drop it)" in text


def test_the_preview_shows_raw_and_prepared_rows_for_either_style():
    at = open_page("prepare", titanic())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Feature columns": "13", "Left out": "0", "Model inputs (at most)": "32"}
    raw, prepared = at.dataframe[1].value, at.dataframe[2].value  # [0] is the editor
    assert raw.shape == (8, 13)
    assert len(prepared) == 8 and "who_man" in prepared.columns
    text = page_text(at)
    assert "What the model sees — 30 inputs (linear, distance and neural models)" in text
    assert "the preparation was fitted on all 891 rows" in text
    at.radio(key="prep_style").set_value("tree").run()
    prepared = at.dataframe[2].value
    assert prepared.shape[1] == 13 and "who" in prepared.columns


def test_a_constant_fill_without_a_value_is_refused_and_nothing_changes():
    project = titanic()
    at = open_page("prepare", project)
    edit_table(at, at.data_editor[0].key, {_row(at, "age"): {"Impute": "constant"}})
    at.button[0].click()
    at.run()
    assert "imputation 'constant' for 'age' needs a fill value, got none." in plain(at.error[0].value)
    assert current(at) is project


def test_a_role_change_and_a_fill_value_are_kept():
    at = open_page("prepare", titanic())
    edit_table(at, at.data_editor[0].key, {
        _row(at, "pclass"): {"Role": "categorical"},
        _row(at, "age"): {"Impute": "constant", "Fill value": "-1"},
    })
    at.button[0].click()
    at.run()
    recipe = current(at).recipe
    assert recipe.roles == {"pclass": "categorical"}
    assert recipe.preparation.columns["age"].fill_value == -1.0
    assert at.data_editor[0].value.set_index("Column").loc["age", "Fill value"] == "-1.0"


def _charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_pca_shows_the_explained_variance_and_applies_the_suggestion():
    at = open_page("prepare", with_fake_result(titanic()))
    assert at.radio(key="prep_reduce_method").value == "none" and not _charts(at)
    at.radio(key="prep_reduce_method").set_value("pca").run()
    assert not at.exception
    chart = _charts(at)[0]
    assert chart["layout"]["title"]["text"] == "Variance kept by the first PCA components"
    shown = chart["data"][0]["y"]
    suggested = next(i for i, share in enumerate(shown, start=1) if share >= 0.95)
    sentence = at.info[0].value
    assert sentence.startswith(f"{suggested} components keep ")
    assert sentence.endswith(f"the fewest that keep at least 95%, so {suggested} is the suggestion.")
    assert "Measured on all 891 rows, with the preparation above." in page_text(at)
    assert at.number_input(key="prep_reduce_components_pca").value == suggested  # offered first
    at.button(key="prep_reduce_apply").click().run()
    project = current(at)
    assert project.recipe.preparation.reduce == Reduction("pca", components=suggested)
    assert project.result is None
    assert "Reduction updated (PCA): models will be trained with it." in page_text(at)
    # a share of the variance instead of a count, then no reduction again
    at.radio(key="prep_reduce_keep").set_value("share").run()
    at.number_input(key="prep_reduce_variance").set_value(0.9)
    at.button(key="prep_reduce_apply").click().run()
    assert current(at).recipe.preparation.reduce == Reduction("pca", components=suggested, variance=0.9)
    at.radio(key="prep_reduce_method").set_value("none").run()
    assert not _charts(at)
    at.button(key="prep_reduce_apply").click().run()
    assert current(at).recipe.preparation.reduce == Reduction()
