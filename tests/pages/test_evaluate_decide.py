"""AppTest of the Evaluate page's decision panels: costs of mistakes and fairness across groups."""

from __future__ import annotations

import functools

import pytest

from core.evaluate._costs import cost_summary
from core.evaluate._fairness import fairness_for
from core.formatting import escape_markdown, format_number
from core.project import update_recipe, with_result
from core.recipe import Costs
from core.train._runner import train
from tests.pages.conftest import TITANIC, plain, project_from_csv
from tests.pages.helpers_late import (  # noqa: F401
    PROJECT_KEY,
    open_page,
    table_with,
    texts,
    titanic_project,
    trained_project,
    workspace,
)

pytestmark = pytest.mark.usefixtures("workspace")  # a fresh run history for every test


def _price(at, fp: float, fn: float, gain: float = 0.0):
    at.number_input(key="eval_cost_fp").set_value(fp)
    at.number_input(key="eval_cost_fn").set_value(fn)
    at.number_input(key="eval_cost_tp").set_value(gain)
    at.button(key="eval_costs_price").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@functools.cache
def _trained_with_costs():
    project = titanic_project()
    recipe = project.recipe.copy()
    recipe.imbalance.costs = Costs(fp_cost=1, fn_cost=10)
    result = train(project.frame, recipe, inferred_roles=project.effective_roles())
    return result


def test_costs_price_the_decisions_and_applying_them_trains_again():
    project = trained_project()
    at = open_page("evaluate", project)
    assert "Enter at least one cost above 0" in texts(at)
    _price(at, 1, 10)
    summary = cost_summary(project.result, Costs(fp_cost=1, fn_cost=10))
    cards = {m.label: m.value for m in at.metric}
    chosen = summary["chosen_threshold"]
    assert chosen < 0.5  # a miss costs ten false alarms: flag more rows
    assert cards[f"Chosen threshold {chosen:.3g}"] == format_number(round(summary["test"]["at_chosen"], 2))
    assert cards["Default threshold 0.5"] == format_number(round(summary["test"]["at_default"], 2))
    assert summary["test"]["at_chosen"] < summary["test"]["at_default"]
    assert "cheapest threshold on the validation folds" in texts(at)
    assert any(c.proto.spec and "Expected cost per 1,000 decisions" in c.proto.spec
               for c in at.get("plotly_chart"))
    at.button(key="eval_costs_apply").click().run()
    after = at.session_state[PROJECT_KEY]
    assert after.recipe.imbalance.costs == Costs(fp_cost=1, fn_cost=10)
    assert after.recipe.imbalance.threshold is None
    assert after.result is None and "costs of mistakes" in after.cleared
    assert at.title[0].value.endswith("Train")


def test_a_run_trained_with_the_costs_says_they_are_applied_and_can_forget_them():
    result = _trained_with_costs()
    project = titanic_project()
    recipe = project.recipe.copy()
    recipe.imbalance.costs = Costs(fp_cost=1, fn_cost=10)
    project = with_result(update_recipe(project, recipe), result)
    at = open_page("evaluate", project)
    # the form starts from the recipe's costs, so the panel shows them straight away
    assert at.number_input(key="eval_cost_fn").value == 10
    page = texts(at)
    assert f"at least {result.threshold:.3g}" in page and "These costs are applied" in page
    assert not [b for b in at.button if b.key == "eval_costs_apply"]
    at.button(key="eval_costs_forget").click().run()
    after = at.session_state[PROJECT_KEY]
    assert not after.recipe.imbalance.costs.stated and after.result is None


def test_marking_sensitive_columns_keeps_the_model_and_flags_gaps():
    project = trained_project()
    at = open_page("evaluate", project)
    assert "No sensitive columns marked yet." in texts(at)
    at.multiselect(key="eval_sensitive").set_value(["sex", "embark_town"])
    at.button(key="eval_fairness_compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = at.session_state[PROJECT_KEY]
    assert after.recipe.sensitive == ["sex", "embark_town"]
    assert after.result is project.result and after.cleared is None  # nothing retrained
    expected = fairness_for(project.result, after.recipe, frame=project.frame)
    warnings = [plain(w.value) for w in at.warning]
    assert warnings == [flag for table in expected for flag in table["flags"]]
    assert any("four-fifths rule" in w and "male" in w for w in warnings)
    sex = table_with(at, "selection rate")
    assert list(sex["group"]) == ["male", "female", "all rows"]
    assert list(sex["rows"]) == [g["n"] for g in expected[0]["groups"]] + [project.result.n_test]
    assert "'sex' is a model input" in texts(at)


def test_a_sensitive_column_the_model_does_not_use_still_gets_its_groups():
    project = titanic_project(drop=["who"])
    result = train(project.frame, project.recipe, inferred_roles=project.effective_roles())
    assert "who" not in result.X_test.columns
    at = open_page("evaluate", with_result(project, result))
    at.multiselect(key="eval_sensitive").set_value(["who"])
    at.button(key="eval_fairness_compare").click().run()
    table = table_with(at, "selection rate")
    assert set(table["group"]) == {"man", "woman", "child", "all rows"}
    page = texts(at)
    assert "'who' is not a model input" in page
    assert "Too few rows to tell for 'child'" in page or (table["rows"] >= 30).all()


def test_regression_groups_show_errors_not_rates():
    project = titanic_project("ridge", target="fare", task="regression", metric=None)
    result = train(project.frame, project.recipe, inferred_roles=project.effective_roles())
    project = with_result(project, result)
    at = open_page("evaluate", project)
    assert not [b for b in at.button if b.key == "eval_costs_price"]  # costs are two-class only
    at.multiselect(key="eval_sensitive").set_value(["pclass"])
    at.button(key="eval_fairness_compare").click().run()
    table = table_with(at, "MAE")
    assert list(table["group"]) == ["3", "1", "2", "all rows"]  # largest group first
    assert {"mean actual", "mean predicted", "mean error", "RMSE"} <= set(table.columns)
    assert "selection rate" not in table.columns
    first_class, third_class = (table.set_index("group").loc[g, "MAE"] for g in ("1", "3"))
    assert first_class > 1.25 * third_class  # dear tickets are harder to predict in units
    assert any(plain(w.value).startswith("Errors: the typical miss (MAE) is "
                                         f"{first_class / third_class:.2f} times as large for '1'")
               for w in at.warning)


def test_group_names_from_the_data_read_as_they_are(tmp_path):
    name = "**S** $x$ [a](http://x)"
    frame = titanic_project().frame.copy()
    frame["embark_town"] = frame["embark_town"].replace({"Southampton": name})
    path = tmp_path / TITANIC.name
    frame.to_csv(path, index=False)
    project = project_from_csv(path, "survived")
    recipe = project.recipe.copy()
    recipe.auto = False
    recipe.models = [m for m in recipe.models if m.name == "logistic_regression"]
    project = update_recipe(project, recipe)
    result = train(project.frame, project.recipe, inferred_roles=project.effective_roles())
    at = open_page("evaluate", with_result(project, result))
    at.multiselect(key="eval_sensitive").set_value(["embark_town"])
    at.button(key="eval_fairness_compare").click().run()
    assert name in set(table_with(at, "selection rate")["group"])  # a table shows text as it is
    flagged = [w.value for w in at.warning if "four-fifths" in plain(w.value)]
    assert flagged and escape_markdown(repr(name)) in flagged[0]  # Markdown shows it literally
    shown = [e.value for kind in ("markdown", "caption", "warning", "info", "success")
             for e in getattr(at, kind)]
    assert not any("[a](http://x)" in v or "**S**" in v for v in shown)  # never a link or bold
