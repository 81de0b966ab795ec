"""Project stages: pure functions, stale results cleared visibly, the brief re-judges only."""

import pytest

from core.errors import TabwrightError
from core.project import Project, load_data, set_target, update_recipe, with_result


@pytest.fixture(scope="module")
def titanic(sample_dir):
    return set_target(load_data(Project(), str(sample_dir / "titanic.csv"), name="titanic.csv"),
                      "survived")


def test_load_data_profiles_and_recommends(titanic):
    assert titanic.table.frame.shape == (891, 14)
    assert titanic.recipe.task == "binary" and titanic.recipe.metric is None
    assert titanic.profile.task.task == "binary"


def test_changing_a_training_choice_clears_the_result(titanic):
    trained = with_result(titanic, object())
    recipe = trained.recipe.copy()
    recipe.seed = 7
    updated = update_recipe(trained, recipe)
    assert updated.result is None and "cleared" in updated.cleared
    assert trained.result is not None  # the old project is untouched


def test_moving_the_bar_keeps_the_model(titanic):
    trained = with_result(titanic, object())
    recipe = trained.recipe.copy()
    recipe.brief.bar_metric, recipe.brief.bar_value = "roc_auc", 0.8
    recipe.brief.problem = "Who survives?"
    updated = update_recipe(trained, recipe)
    assert updated.result is trained.result and updated.cleared is None
    recipe = updated.recipe.copy()
    recipe.brief.interpretable = True  # this one changes which models may be trained
    assert update_recipe(updated, recipe).result is None


def test_bad_choices_keep_the_old_project(titanic):
    recipe = titanic.recipe.copy()
    recipe.split.test_size = 0.9
    with pytest.raises(TabwrightError):
        update_recipe(titanic, recipe)
    with pytest.raises(TabwrightError):
        set_target(titanic, "no such column")
    assert titanic.recipe.split.test_size == 0.2
