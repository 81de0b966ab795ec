"""The recipe: JSON round trip, validation messages, suggestions and diffs."""

import functools
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import TabwrightError
from core.metrics import default_metric
from core.recipe import (
    BOUNDS,
    ColumnPrep,
    Costs,
    DataSource,
    ModelChoice,
    Recipe,
    Reduction,
    apply_suggestion,
    diff,
)


def full_recipe() -> Recipe:
    r = Recipe(target="y", task="binary", roles={"a": "categorical"}, drop=["id"],
               models=[ModelChoice("logistic_regression", {"C": 0.5}), ModelChoice("dummy")],
               auto=False, metric="f1", seed=7)
    r.preparation.columns["a"] = ColumnPrep(impute="constant", fill_value="none", encode="target")
    r.preparation.columns["b"] = ColumnPrep(outliers="clip_iqr", scale="robust", bins=4)
    r.features.interactions = ["b", "c"]
    r.split.group_column = "g"
    r.validation.scheme = "group"
    r.imbalance.class_weight = "balanced"
    r.brief.bar_metric, r.brief.bar_value = "recall", 0.8
    return r


def test_round_trip_preserves_every_choice():
    r = full_recipe()
    text = r.to_json()
    assert Recipe.from_json(text) == r
    assert json.loads(text)["version"] == 1


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), test_size=st.floats(0.05, 0.5),
       folds=st.integers(2, 20), budget=st.floats(1, 86_400))
def test_round_trip_property(seed, test_size, folds, budget):
    r = Recipe(target="t", task="regression", seed=seed, time_budget=budget)
    r.split.test_size = test_size
    r.validation.folds = folds
    assert Recipe.from_dict(json.loads(r.to_json())) == r


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(task="ranking"), "task must be one of"),
    (lambda d: d.update(metric="rmse"), "metric must be one of"),
    (lambda d: d["split"].update(test_size=0.9), "test fraction must be a number from 0.05 to 0.5"),
    (lambda d: d["validation"].update(folds=1), "folds must be a whole number from 2 to 20"),
    (lambda d: d.update(colour="red"), "unknown setting(s): colour"),
    (lambda d: d["preparation"]["columns"].update(x={"impute": "magic"}), "imputation for 'x'"),
    (lambda d: d.update(version=99), "recipe version must be 1"),
    (lambda d: d.update(drop=["y"]), "cannot also be dropped"),
    (lambda d: d.update(auto=False, models=[]), "Choose at least one model"),
    (lambda d: d["brief"].update(bar_metric="recall", bar_value=None), "needs a value"),
    (lambda d: d["preparation"].update(precision="float16"), "model input precision must be one of"),
])
def test_invalid_recipes_say_what_is_wrong(mutate, fragment):
    data = Recipe(target="y", task="binary").to_dict()
    mutate(data)
    with pytest.raises(TabwrightError) as err:
        Recipe.from_dict(data)
    assert fragment in err.value.message
    assert err.value.hint


def _recipe_with(path: str, value) -> Recipe:
    """A valid recipe with the choice at ``path`` (a key of ``BOUNDS``) set to ``value``."""
    recipe = Recipe(target="y", task="binary")
    if path == "column.bins":
        recipe.preparation.columns["x"] = ColumnPrep(bins=value)
        return recipe
    *parents, name = path.split(".")
    part = functools.reduce(getattr, parents, recipe)
    assert hasattr(part, name), f"BOUNDS names {path!r}, which the recipe does not have"
    setattr(part, name, value)
    return recipe


@pytest.mark.parametrize("path", sorted(BOUNDS))
def test_validation_follows_the_declared_bounds(path):
    """Each bound itself is accepted and the value just past it refused, with the range said."""
    bounds = BOUNDS[path]
    for value in (bounds.low, bounds.high):
        _recipe_with(path, value).validate()
    if bounds.integer:
        outside = (bounds.low - 1, bounds.high + 1)
    else:
        outside = (math.nextafter(bounds.low, -math.inf), math.nextafter(bounds.high, math.inf))
    for value in outside:
        with pytest.raises(TabwrightError, match=re.escape(f"from {bounds.low} to {bounds.high}")):
            _recipe_with(path, value).validate()


def test_not_json_is_a_clear_error():
    with pytest.raises(TabwrightError, match="not valid JSON"):
        Recipe.from_json("{not json")


def test_columns_must_exist_with_suggestions():
    r = Recipe(target="survivd", task="binary")
    with pytest.raises(TabwrightError) as err:
        r.validate(["survived", "age"])
    assert "survivd" in err.value.message and "survived" in err.value.hint


def test_default_metrics():
    assert default_metric("binary") == "roc_auc"
    assert default_metric("regression") == "rmse"
    assert default_metric("multiclass") == "accuracy"


def test_the_ranking_metric_is_kept_only_when_it_differs_from_the_metric():
    assert Recipe(target="y", task="multiclass").effective_rank_metric == "log_loss"  # auto
    assert Recipe(target="y", task="multiclass", auto=False,
                  models=[ModelChoice("logistic_regression")]).effective_rank_metric == "accuracy"
    assert Recipe(target="y", task="binary").effective_rank_metric == "roc_auc"
    assert "rank_metric" not in Recipe(target="y", task="multiclass").to_dict()
    resolved = Recipe(target="y", task="multiclass", auto=False, rank_metric="log_loss",
                      models=[ModelChoice("logistic_regression")])
    again = Recipe.from_dict(resolved.to_dict())
    assert again == resolved and again.effective_rank_metric == "log_loss"
    with pytest.raises(TabwrightError, match="rank_metric") as err:
        Recipe(target="y", task="regression", rank_metric="log_loss").validate()
    assert "Leave it out to rank by the metric" in err.value.hint


def test_apply_suggestion_is_pure_and_applies():
    r = Recipe(target="y", task="binary")
    r2 = apply_suggestion(r, "drop_columns", {"columns": ["id"]})
    r3 = apply_suggestion(r2, "set_encoding", {"column": "zip", "encoding": "target"})
    r4 = apply_suggestion(r3, "set_metric", {"metric": "average_precision"})
    assert r.drop == [] and r2.drop == ["id"]
    assert r3.preparation.columns["zip"].encode == "target"
    assert r4.metric == "average_precision"
    with pytest.raises(TabwrightError):
        apply_suggestion(r, "explode", {})


def test_diff_lists_changed_paths():
    a = Recipe(target="y", task="binary")
    b = a.copy()
    b.drop.append("id")
    b.imbalance.class_weight = "balanced"
    paths = {d["path"] for d in diff(a, b)}
    assert paths == {"drop", "imbalance.class_weight"}


# --------------------------------------------------------------------------- the data source

QUERY_SOURCE = DataSource(kind="sql", url="postgresql://analyst@db:5432/shop",
                          query="SELECT * FROM customers")


def test_a_recipe_without_a_source_reads_exactly_as_before():
    data = full_recipe().to_dict()
    assert "source" not in data and Recipe.from_dict(data).source is None
    assert Recipe.from_dict(data | {"source": None}) == full_recipe()


def test_a_query_source_round_trips_as_plain_data():
    r = Recipe(target="y", task="binary", source=QUERY_SOURCE)
    data = json.loads(r.to_json())
    assert data["source"] == {"kind": "sql", "url": "postgresql://analyst@db:5432/shop",
                              "query": "SELECT * FROM customers"}
    assert Recipe.from_dict(data) == r
    assert diff(Recipe(target="y", task="binary"), r) == [
        {"path": "source", "old": None, "new": data["source"]}]


@pytest.mark.parametrize("source, fragment", [
    ({"kind": "sql", "url": "postgresql://analyst:pw@db/shop", "query": "SELECT 1"},
     "source.url must not hold a password"),
    ({"kind": "csv", "url": "sqlite:///a.db", "query": "SELECT 1"}, "data source kind must be one of"),
    ({"kind": "sql", "url": "sqlite:///a.db", "query": "  "}, "source.query must be non-empty text"),
    ({"kind": "sql", "url": "sqlite:///a.db", "query": "SELECT 1", "password": "x"},
     "recipe.source has unknown setting(s): password"),
])
def test_a_bad_source_is_refused(source, fragment):
    with pytest.raises(TabwrightError) as info:
        Recipe.from_dict({"target": "y", "source": source})
    assert fragment in info.value.message
    assert "pw" not in info.value.full_text


# --------------------------------------------------------------------------- the reduction


def test_a_recipe_without_a_reduction_reads_exactly_as_before():
    data = full_recipe().to_dict()
    assert "reduce" not in data["preparation"]
    assert Recipe.from_dict(data).preparation.reduce == Reduction()
    assert Recipe.from_dict(data).to_json() == full_recipe().to_json()


@pytest.mark.parametrize("reduce", [Reduction("pca", components=12), Reduction("pca", variance=0.9),
                                    Reduction("svd", components=50)])
def test_a_reduction_round_trips_and_diff_names_what_changed(reduce):
    r = full_recipe()
    r.preparation.reduce = reduce
    data = json.loads(r.to_json())
    assert data["preparation"]["reduce"] == {"method": reduce.method, "components": reduce.components,
                                             "variance": reduce.variance}
    assert Recipe.from_dict(data) == r
    changed = {d["path"]: (d["old"], d["new"]) for d in diff(full_recipe(), r)}
    assert changed["preparation.reduce.method"] == ("none", reduce.method)
    assert set(changed) <= {"preparation.reduce.method", "preparation.reduce.components",
                            "preparation.reduce.variance"}


@pytest.mark.parametrize("reduce, fragment", [
    ({"method": "umap"}, "dimensionality reduction must be one of none, pca, svd, got 'umap'"),
    ({"method": "pca", "components": 0}, "components must be a whole number from 1 to 10000"),
    ({"method": "pca", "variance": 1.0}, "share of variance to keep must be a number from 0.1 to 0.999"),
    ({"method": "svd", "variance": 0.9}, "A share of variance to keep (0.9) must go with pca, got svd"),
    ({"method": "pca", "share": 0.9}, "recipe.preparation.reduce has unknown setting(s): share"),
])
def test_a_bad_reduction_is_refused(reduce, fragment):
    data = Recipe(target="y", task="binary").to_dict()
    data["preparation"]["reduce"] = reduce
    with pytest.raises(TabwrightError) as info:
        Recipe.from_dict(data)
    assert fragment in info.value.message and info.value.hint


# --------------------------------------------------------------------------- costs and sensitive columns


def test_a_recipe_without_costs_or_sensitive_columns_reads_exactly_as_before():
    data = full_recipe().to_dict()
    assert "costs" not in data["imbalance"] and "sensitive" not in data
    loaded = Recipe.from_dict(data)
    assert loaded.imbalance.costs == Costs() and not loaded.imbalance.costs.stated
    assert loaded.sensitive == []
    assert loaded.to_json() == full_recipe().to_json()


def test_costs_and_sensitive_columns_round_trip_and_diff_names_them():
    r = full_recipe()
    r.imbalance.costs = Costs(fp_cost=5, fn_cost=120.5, tp_gain=10)
    r.imbalance.threshold = 0.27
    r.sensitive = ["sex", "age"]
    data = json.loads(r.to_json())
    assert data["imbalance"]["costs"] == {"fp_cost": 5, "fn_cost": 120.5, "tp_gain": 10}
    assert data["sensitive"] == ["sex", "age"]
    assert Recipe.from_dict(data) == r
    changed = {d["path"] for d in diff(full_recipe(), r)}
    assert changed == {"imbalance.costs.fp_cost", "imbalance.costs.fn_cost",
                       "imbalance.costs.tp_gain", "imbalance.threshold", "sensitive"}


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d["imbalance"].update(costs={"fp_cost": -1}),
     "cost of a false positive must be a number from 0.0 to"),
    (lambda d: d["imbalance"].update(costs={"fn_cost": "high"}),
     "cost of a false negative must be a number"),
    (lambda d: d["imbalance"].update(costs={"fp_cost": 1, "tn_gain": 2}),
     "recipe.imbalance.costs has unknown setting(s): tn_gain"),
    (lambda d: d["imbalance"].update(costs=[1, 2]), "recipe.imbalance.costs must be an object"),
    (lambda d: d.update(sensitive="sex"), "sensitive must be a list of column names"),
    (lambda d: d.update(sensitive=["sex", 3]), "sensitive must be a list of column names"),
    (lambda d: d.update(sensitive=["sex", "age", "sex"]),
     "Each sensitive column must be named once, got 'sex' more than once"),
])
def test_bad_costs_or_sensitive_columns_say_what_is_wrong(mutate, fragment):
    data = Recipe(target="y", task="binary").to_dict()
    mutate(data)
    with pytest.raises(TabwrightError) as err:
        Recipe.from_dict(data)
    assert fragment in err.value.message and err.value.hint


def test_sensitive_columns_must_exist_in_the_data():
    r = Recipe(target="survived", task="binary", sensitive=["sexx"])
    with pytest.raises(TabwrightError) as err:
        r.validate(["survived", "sex", "age"])
    assert "The sensitive column 'sexx' is not a column of the data." == err.value.message
    assert "'sex'" in err.value.hint
    assert r.validate(None) is r  # without the data's columns nothing to check them against


def test_costs_are_stated_when_any_is_above_zero():
    assert not Costs().stated
    assert Costs(tp_gain=1).stated and Costs(fp_cost=0.5).stated


def test_an_unknown_metric_before_the_task_is_known_lists_every_metric():
    data = Recipe(target="y").to_dict()
    data["metric"] = "bogus"
    with pytest.raises(TabwrightError) as err:
        Recipe.from_dict(data)
    assert err.value.hint.startswith("Use one of: ") and "None" not in err.value.hint
