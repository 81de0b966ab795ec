"""The report is JSON-safe data first; its HTML is self-contained and no data becomes markup."""

from __future__ import annotations

import dataclasses
import json
from html.parser import HTMLParser

import pytest

from core.deliver._report import _env, build_report, render_html, render_markdown
from core.explore._profile import profile_table
from core.formatting import format_percent
from core.ingest._read import read_table
from core.recipe import Costs, Imbalance, ModelChoice, Recipe, Reduction
from core.train._runner import train

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture(scope="module")
def hostile(sample_dir):
    """Titanic with a column named like an <img> tag and cells that try to end a script."""
    frame = read_table(sample_dir / "titanic.csv").frame.rename(columns={"deck": IMG})
    frame["embark_town"] = frame["embark_town"].where(frame.index % 3 != 0, SCRIPT)
    profile = profile_table(frame, target="survived")
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")])
    result = train(frame, recipe)
    # Marked sensitive on the project (not in the run's recipe): the report reads the project's.
    marked = dataclasses.replace(recipe, sensitive=["embark_town", IMG])
    report = build_report(result, project_name=f"Project {SCRIPT}", profile=profile,
                          data_name=f"{IMG}.csv", recipe=marked, frame=frame)
    return result, report, render_html(report)


def test_report_is_json_safe_data_with_every_part(hostile):
    result, report, _ = hostile
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["format"] == "tabwright-report/1"
    assert report["data"]["rows"] == 891 and report["data"]["from_profile"] is True
    assert {c["name"] for c in report["data"]["columns"]} >= {IMG, "embark_town", "survived"}
    assert report["leaderboard"]["rows"] == result.leaderboard
    assert report["diagnostics"]["fit"]["verdict"] in ("good fit", "overfitting", "underfitting")
    assert {r["feature"] for r in report["diagnostics"]["importance"]} == set(result.X_test.columns)
    ids = [f["id"] for f in report["figures"]]
    assert ids == ["leaderboard", "confusion_matrix", "confusion_matrix_normalized", "roc", "pr",
                   "calibration", "importance", "partial_dependence_0", "partial_dependence_1",
                   "partial_dependence_2"]
    assert all(f["figure"]["data"] for f in report["figures"])
    assert report["model_card"]["target"] == "survived"
    # The views are renderings of the data alone: a stored report renders the same file.
    assert render_html(json.loads(text)) == hostile[2]


def test_recipe_is_told_in_sentences_from_the_fitted_pipeline(hostile):
    sentences = hostile[1]["recipe_sentences"]
    assert "Rows with a missing target are dropped." in sentences
    assert any("5-fold stratified cross-validation" in s for s in sentences)
    assert any("20% of rows (179) are held out" in s and "stratified" in s for s in sentences)
    onehot = next(s for s in sentences if "one-hot encoded with at most 30 levels" in s)
    assert "'embark_town'" in onehot
    assert any(s.startswith("The final model is Logistic regression") for s in sentences)


def test_findings_say_what_the_recipe_did(hostile):
    findings = hostile[1]["findings"]
    dup_cols = [f for f in findings if f["code"] == "duplicate_columns"]
    assert dup_cols and all(f["handled"] is False and f["action"].startswith("Not applied") for f in dup_cols)


def test_data_never_becomes_markup(hostile):
    _, report, html = hostile
    parser = _Tags()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert "img" not in tags
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    # Scripts: plotly.js once, then one per figure, and nothing else.
    assert len(parser.scripts) == 1 + len(report["figures"])
    assert "Plotly" in parser.scripts[0] and len(parser.scripts[0]) > 1_000_000
    assert all("Plotly.newPlot" in s for s in parser.scripts[1:])
    # Inside figure scripts every "<" of the data is \u003c, so nothing can close the script.
    assert not any("<" in s for s in parser.scripts[1:])
    assert SCRIPT not in html and IMG not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as text
    # In the figures it is escaped for plotly, which reads <b>, <a href> in any text it draws:
    # plotly shows "&lt;img ...&gt;" as the literal text
    importance = next(f for f in report["figures"] if f["id"] == "importance")["figure"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in json.dumps(importance)
    assert "<img" not in json.dumps(importance)


def test_html_is_self_contained(hostile):
    html = hostile[2]
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert 'src="http' not in html and "<link" not in html
    assert html.count(">Contents<") == 1 and 'href="#model-card"' in html
    assert 4_000_000 < len(html.encode()) < 7_000_000


def test_partial_dependence_of_the_top_columns_is_told_and_drawn(hostile):
    result, report, html = hostile
    dependence = report["dependence"]
    top = [r["feature"] for r in report["diagnostics"]["importance"]
           if result.plan.roles.get(r["feature"]) in ("numeric", "categorical", "boolean")][:3]
    assert [d["feature"] for d in dependence] == top
    assert all(d["sentence"].startswith("The predicted chance of survived = 1") for d in dependence)
    drawn = {f["id"]: f for f in report["figures"] if f["section"] == "explain"}
    assert set(drawn) == {d["id"] for d in dependence}
    assert 'id="dependence"' in html and all(f'figure-{i}' in html for i in drawn)
    md = render_markdown(report)
    assert "## How predictions follow the columns" in md
    assert all(f"- {d['sentence'][:30]}" in md for d in dependence if "<" not in d["sentence"])


def test_fairness_tables_follow_the_projects_sensitive_columns_and_escape_groups(hostile):
    _, report, html = hostile
    tables = report["decisions"]["fairness"]
    assert [t["column"] for t in tables] == ["embark_town", IMG]
    town = tables[0]
    assert town["available"] and SCRIPT in [g["group"] for g in town["groups"]]
    assert town["display_columns"][:4] == ["group", "rows", "base rate", "selection rate"]
    assert town["display_rows"][-1]["group"] == "all rows"
    assert report["decisions"]["costs"] is None  # no costs stated
    assert 'id="decisions"' in html and ">By embark_town</h3>" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_markdown(report)
    assert "### By embark\\_town" in md
    header = next(line for line in md.splitlines() if line.startswith("| group |"))
    rows = [line for line in md.splitlines() if line.startswith("| ") and line.count(" | ") == header.count(" | ")]
    assert any("&lt;/script&gt;" in line for line in rows)  # a hostile group is one cell
    assert "<script" not in md


def test_costs_are_in_the_report(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")],
                    imbalance=Imbalance(costs=Costs(fp_cost=5, fn_cost=50)))
    report = build_report(train(frame, recipe))
    costs = report["decisions"]["costs"]
    assert costs["costs"] == {"fp_cost": 5.0, "fn_cost": 50.0, "tp_gain": 0.0}
    assert costs["sentence"].startswith("For these costs the cheapest threshold")
    assert report["decisions"]["fairness"] == []
    html, md = render_html(report), render_markdown(report)
    assert "What mistakes cost" in html and costs["sentence"] in html
    assert "A false positive costs 5, a false negative 50." in md


def test_templates_are_autoescaped_by_file_name():
    assert _env.autoescape("report.html.j2") is True
    assert _env.autoescape("report.md.j2") is False
    assert _env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_markdown_escapes_html_and_table_breaks(hostile):
    _, report, _ = hostile
    md = render_markdown(report)
    assert md.startswith("# Project &lt;/script&gt;")
    assert "<img" not in md and "<script" not in md
    row = next(line for line in md.splitlines() if "onerror" in line and line.startswith("|"))
    assert row.count(" | ") == 4  # the name did not add table cells
    assert "## Leaderboard" in md and "| 1 | Logistic regression |" in md
    assert "- Confusion matrix" in md  # figures are listed, not drawn


def test_regression_report_with_drift_and_learning_curve(sample_dir):
    from core.deliver._drift import check_drift
    from core.deliver._export import model_card
    from core.evaluate._heldout import learning_curve_data

    frame = read_table(sample_dir / "california_housing.csv").frame.sample(1500, random_state=0)
    result = train(frame, Recipe(target="median_house_value", auto=False, models=[ModelChoice("ridge")]))
    drift = check_drift(model_card(result), frame[frame["median_income"] > 5])
    curve = learning_curve_data(result.pipeline, result.X_train, result.y_train, cv=3,
                                scoring="neg_root_mean_squared_error", train_sizes=(0.3, 0.6, 1.0))
    report = build_report(result, drift=drift, learning_curve=curve, data_name="ca.csv")
    ids = [f["id"] for f in report["figures"]]
    assert ids == ["leaderboard", "residuals", "predicted_vs_actual", "importance", "learning_curve",
                   "drift", "partial_dependence_0", "partial_dependence_1", "partial_dependence_2"]
    assert all("predicted" in d["sentence"] for d in report["dependence"])
    assert report["findings"] == [] and report["data"]["from_profile"] is False
    assert report["diagnostics"]["fit"]["metric"] == "rmse"
    # Importance is in the run's metric, errors turned into "drop in score": the top one helps.
    assert report["diagnostics"]["importance"][0]["importance_mean"] > 0
    html = render_html(report)
    assert 'id="drift"' in html and drift["verdict"] in html and curve["verdict"] in html
    md = render_markdown(report)
    assert "## Drift" in md and "RMSE" in md


def test_clustering_report(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame.drop(columns=["survived"])
    result = train(frame, Recipe(task="clustering", auto=False, models=[ModelChoice("kmeans", {"n_clusters": 3})]))
    report = build_report(result)
    assert [f["id"] for f in report["figures"]] == ["leaderboard", "cluster_sizes"]
    assert report["diagnostics"]["importance"] is None and "3 clusters" in report["summary"]["headline"]
    assert "cluster sizes" in render_html(report).lower()


def test_splines_are_told_with_the_inputs_they_bend(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    recipe = Recipe(target="survived", auto=False,
                    models=[ModelChoice("logistic_regression", {"splines": 5})])
    report = build_report(train(frame, recipe), data_name="titanic.csv")
    told = [s for s in report["recipe_sentences"] if s.startswith("Splines")]
    assert len(told) == 1 and "cubic splines with 5 knots" in told[0]
    assert "('age', 'fare')" in told[0] and "sex" not in told[0]  # yes/no: not bent
    assert "The final model is Logistic regression with splines=5, refitted on all training rows." \
        in report["recipe_sentences"]


def test_poisson_loss_is_told_for_the_model_that_uses_it(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    recipe = Recipe(target="fare", task="regression", auto=False,
                    models=[ModelChoice("hist_gradient_boosting", {"loss": "poisson"})])
    report = build_report(train(frame, recipe), data_name="titanic.csv")
    told = [s for s in report["recipe_sentences"] if s.startswith("Poisson loss")]
    assert len(told) == 1 and "logarithm of the expected value" in told[0]
    plain = Recipe(target="fare", task="regression", auto=False,
                   models=[ModelChoice("hist_gradient_boosting")])
    report = build_report(train(frame, plain), data_name="titanic.csv")
    assert not any(s.startswith("Poisson loss") for s in report["recipe_sentences"])


def test_a_reduction_is_told_with_its_components_in_the_recipe_and_the_card(sample_dir):
    frame = read_table(sample_dir / "titanic.csv").frame
    recipe = Recipe(target="survived", auto=False, models=[ModelChoice("logistic_regression")])
    recipe.preparation.reduce = Reduction("pca", variance=0.9)
    result = train(frame, recipe)
    report = build_report(result, data_name="titanic.csv")
    step = result.pipeline.named_steps["reduce"]
    told = [s for s in report["recipe_sentences"] if s.startswith("Dimensionality reduction")]
    assert told == [f"Dimensionality reduction: principal component analysis (PCA) turns the "
                    f"{step.n_features_in_} prepared inputs into {step.n_components_} components, "
                    f"keeping {format_percent(step.explained_variance_ratio_.sum())} of their "
                    "variance on the training rows; the model sees only these."]
    assert step.n_components_ < step.n_features_in_
    chosen = {"method": "pca", "components": 10, "variance": 0.9}
    assert report["recipe"]["preparation"]["reduce"] == chosen
    assert report["model_card"]["recipe"]["preparation"]["reduce"] == chosen
    assert told[0] in render_markdown(report)
