"""AppTest of the Data page: upload, a bad upload that keeps the project, samples, role edits."""

from __future__ import annotations

import hashlib

from tests.pages.conftest import current, edit_table, page_text, plain

PEOPLE = ("name,age,city,income\n" + "".join(
    f"P{i},{20 + i},{'Oslo' if i % 3 else 'Rome'},\"${1000 + 37 * i:,}\"\n" for i in range(40)
)).encode()


def test_the_empty_page_offers_an_upload_with_its_limits_and_three_samples(app):
    assert app.file_uploader(key="upload_0").allowed_type == [".csv", ".tsv", ".txt", ".gz", ".zip"]
    text = page_text(app)
    assert "Up to 1 GB, 5,000,000 rows and 2,000 columns." in text
    labels = [b.label for b in app.button]
    assert labels == ["Use Titanic survival", "Use German credit risk", "Use California house prices"]
    assert "891 passengers of the Titanic" in text


def test_a_sample_click_loads_the_data_its_target_and_the_role_table(app):
    app.button(key="sample_titanic.csv").click().run()
    project = current(app)
    assert project.table.name == "titanic.csv"
    assert (project.recipe.target, project.recipe.task) == ("survived", "binary")
    assert "Loaded the Titanic survival sample; the target is 'survived'." in app.success[0].value
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Rows"] == "891" and metrics["Columns"] == "14"
    assert metrics["Duplicate rows"] == "107"
    assert "Target: survived (binary)" in page_text(app)
    preview = app.dataframe[0].value
    assert preview.shape == (20, 14)
    roles = app.data_editor[0].value
    assert list(roles.columns) == ["Column", "Role", "Evidence", "Detected", "Type", "Missing",
                                   "Distinct"]
    assert roles.set_index("Column").loc["deck", "Role"] == "categorical"
    assert roles.set_index("Column").loc["survived", "Evidence"].startswith("🎯 Target.")


def test_an_upload_is_read_once_and_shows_how_it_was_read(app):
    app.file_uploader(key="upload_0").upload("people.csv", PEOPLE, "text/csv")
    app.run()
    project = current(app)
    assert project.table.name == "people.csv"
    assert project.table.fingerprint == hashlib.sha256(PEOPLE).hexdigest()
    assert "Loaded people.csv: 40 rows × 4 columns, utf-8, comma-separated." in plain(app.success[0].value)
    text = page_text(app)
    assert "Encoding: utf-8" in text and "Delimiter: comma" in text
    assert "income: text like '$1,000' read as numbers" in text
    assert project.frame["income"].tolist()[:3] == [1000.0, 1037.0, 1074.0]
    app.run()  # an unrelated rerun: the same file is not read again
    assert current(app) is project
    assert not app.success
    # the upload itself was let go: a fresh, empty uploader for the next file
    assert "upload_0" not in app.session_state
    assert app.file_uploader(key="upload_1").value is None


def test_a_bad_upload_shows_the_error_and_keeps_the_project_and_choices(app):
    app.file_uploader(key="upload_0").upload("people.csv", PEOPLE, "text/csv")
    app.run()
    key = app.data_editor[0].key
    edit_table(app, key, {1: {"Role": "categorical"}})  # age: numeric -> categorical
    app.run()
    before = current(app)
    assert before.recipe.roles == {"age": "categorical"}
    app.file_uploader(key="upload_1").upload("chart.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")
    app.run()
    error = plain(app.error[0].value)
    assert "This file is a PNG image, not a CSV table." in error
    assert "Your previous data and choices are kept." in error
    after = current(app)
    assert after is before
    assert after.table.name == "people.csv" and after.recipe.roles == {"age": "categorical"}


def test_editing_a_role_becomes_a_recipe_override_and_can_be_undone(app):
    app.button(key="sample_titanic.csv").click().run()
    table = app.data_editor[0].value
    row = int(table.index[table["Column"] == "pclass"][0])
    edit_table(app, app.data_editor[0].key, {row: {"Role": "categorical"}})
    app.run()
    project = current(app)
    assert project.recipe.roles == {"pclass": "categorical"}
    assert "Role updated for pclass." in app.success[0].value
    assert "Changed by you: pclass → categorical" in page_text(app)
    shown = app.data_editor[0].value.set_index("Column").loc["pclass"]
    assert (shown["Role"], shown["Detected"]) == ("categorical", "numeric")
    edit_table(app, app.data_editor[0].key, {row: {"Role": "numeric"}})
    app.run()
    assert current(app).recipe.roles == {}


def test_loading_a_sample_after_an_upload_replaces_it_and_stays(app):
    app.file_uploader(key="upload_0").upload("people.csv", PEOPLE, "text/csv")
    app.run()
    app.button(key="sample_german_credit.csv").click().run()
    assert current(app).table.name == "german_credit.csv"
    app.run()  # the earlier upload is not read again
    assert current(app).table.name == "german_credit.csv"
    assert current(app).recipe.target == "default"
