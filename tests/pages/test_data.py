"""AppTest of the Data page: upload, a bad upload that keeps the project, samples, role edits."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import sqlite3

import numpy as np
import pandas as pd
from openpyxl import Workbook

from core.project import Project, load_data, set_target, update_recipe
from tests.pages.conftest import current, edit_table, page_text, plain

PEOPLE = ("name,age,city,income\n" + "".join(
    f"P{i},{20 + i},{'Oslo' if i % 3 else 'Rome'},\"${1000 + 37 * i:,}\"\n" for i in range(40)
)).encode()


def test_the_empty_page_offers_an_upload_with_its_limits_and_three_samples(app):
    assert app.file_uploader(key="upload_0").allowed_type == [".csv", ".tsv", ".txt", ".gz", ".zip",
                                                               ".xlsx", ".xlsm", ".parquet"]
    text = page_text(app)
    assert "Up to 1 GB, 5,000,000 rows, 100,000 columns and 100,000,000 cells." in text
    labels = [b.label for b in app.button]
    assert labels == ["Use Titanic survival", "Use German credit risk", "Use California house prices",
                      "Run query"]
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


def _shop(tmp_path) -> str:
    """A SQLite file with 12 sales, as a database URL."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE sales (region TEXT, amount REAL, day TEXT)")
        con.executemany("INSERT INTO sales VALUES (?, ?, ?)",
                        [("north" if i % 2 else "south", 10.0 * i, f"2024-01-{i:02d}") for i in range(1, 13)])
    return f"sqlite:///{path}"


def _run_query(app, url: str, query: str, password: str = "") -> None:
    app.text_input(key="sql_url").input(url)
    app.text_input(key="sql_password").input(password)
    app.text_area(key="sql_query").input(query)
    app.button(key="sql_run").click().run()


def test_a_database_query_loads_through_the_form(app, tmp_path):
    url = _shop(tmp_path)
    _run_query(app, url, "SELECT region, amount, day FROM sales", password="unused-secret")
    project = current(app)
    assert project.table.name == url and project.table.source_format == "sql"
    assert (project.recipe.source.url, project.recipe.source.query) == (
        url, "SELECT region, amount, day FROM sales")
    assert str(project.frame["day"].dtype) == "datetime64[ns]"
    assert plain(app.success[0].value) == f"Loaded {url}: 12 rows × 3 columns, database query."
    assert app.text_input(key="sql_password").value == ""  # the password is forgotten once used
    assert app.text_input(key="sql_url").value == url
    assert app.metric[0].value == "12"


def test_a_refused_query_shows_the_error_and_keeps_the_data_and_the_form(app, tmp_path):
    app.button(key="sample_titanic.csv").click().run()
    before = current(app)
    url = _shop(tmp_path)
    _run_query(app, url, "DELETE FROM sales")
    error = plain(app.error[0].value)
    assert error.startswith("The query tries to change the database, and tabwright only reads")
    assert current(app) is before
    assert app.text_input(key="sql_url").value == url
    assert app.text_area(key="sql_query").value == "DELETE FROM sales"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
        assert con.execute("SELECT count(*) FROM sales").fetchone() == (12,)
    _run_query(app, url, "SELECT * FROM **no_such**")  # the database's words are escaped
    assert app.error[0].value.startswith('**The query has a syntax error\\: near "\\*"')


def _two_sheet_workbook() -> bytes:
    book = Workbook()
    book.active.title = "Customers"
    for row in [["customer", "age"]] + [[f"C{i}", 30 + i] for i in range(12)]:
        book.active.append(row)
    orders = book.create_sheet("Orders")
    for row in [["Orders export"], [], ["order", "amount", "paid"]] + \
            [[f"O{i}", 100.5 + i, i % 2 == 0] for i in range(15)]:
        orders.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_upload_offers_its_sheets_and_reads_the_one_chosen(app):
    app.file_uploader(key="upload_0").upload("shop.xlsx", _two_sheet_workbook(),
                                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    app.run()
    project = current(app)
    assert (project.table.sheet, project.table.sheets) == ("Customers", ("Customers", "Orders"))
    assert "Loaded shop.xlsx: 12 rows × 2 columns, Excel workbook, sheet 1 of 2." in plain(app.success[0].value)
    assert "Format: Excel workbook" in page_text(app) and "Sheet: Customers (1 of 2)" in page_text(app)
    assert "upload_0" not in app.session_state  # the upload is let go; the workbook's bytes are kept
    chooser = app.selectbox(key=f"sheet_{project.table.fingerprint[:16]}")
    assert chooser.options == ["Customers", "Orders"] and chooser.value == "Customers"
    chooser.select("Orders").run()
    switched = current(app)
    assert switched.table.sheet == "Orders" and switched.table.name == "shop.xlsx"
    assert list(switched.frame.columns) == ["order", "amount", "paid"]
    assert list(app.dataframe[0].value.columns) == ["order", "amount", "paid"]
    assert "Read sheet Orders: 15 rows × 3 columns, Excel workbook, sheet 2 of 2." in plain(app.success[0].value)
    assert "Rows 1–2 above the table were skipped; the header is row 3." in page_text(app)
    assert app.selectbox(key=f"sheet_{switched.table.fingerprint[:16]}").value == "Orders"
    assert [row for row in app.data_editor[0].value["Column"]] == ["order", "amount", "paid"]


def test_a_single_sheet_workbook_and_parquet_have_no_sheet_choice(app, tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    app.file_uploader(key="upload_0").upload("t.parquet", (tmp_path / "t.parquet").read_bytes(),
                                             "application/octet-stream")
    app.run()
    assert current(app).table.source_format == "parquet"
    assert "Format: Parquet file" in page_text(app)
    assert not app.selectbox


def test_a_wide_tables_roles_are_filtered_and_edits_keep_the_hidden_columns(app, tmp_path):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(80, 90)), columns=[f"x{i:02d}" for i in range(90)])
    wide["y"] = rng.integers(0, 2, 80)
    wide.to_csv(tmp_path / "wide.csv", index=False)
    project = set_target(load_data(Project(), str(tmp_path / "wide.csv"), name="wide.csv"), "y")
    project = update_recipe(project, dataclasses.replace(project.recipe, roles={"x00": "categorical"}))
    app.session_state["tabwright_project"] = project
    app.run()
    app.text_input(key="roles_filter").input("x8").run()
    table = app.data_editor[0].value
    assert list(table["Column"]) == [f"x{i}" for i in range(80, 90)]
    assert "10 of 91 columns match" in page_text(app)
    edit_table(app, app.data_editor[0].key, {3: {"Role": "categorical"}})
    app.run()
    assert current(app).recipe.roles == {"x00": "categorical", "x83": "categorical"}


def _customers_and_orders() -> tuple[bytes, bytes]:
    rng = np.random.default_rng(3)
    n = 120
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
    customers = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(n)],
                              "signup_date": signup.strftime("%Y-%m-%d"),
                              "plan": rng.choice(["basic", "pro"], n),
                              "churned": rng.choice(["yes", "no"], n)})
    m = 900
    orders = pd.DataFrame({"cust": [f"C{i:03d}" for i in rng.integers(0, n - 10, m)],
                           "order_date": (pd.Timestamp("2023-10-01") + pd.to_timedelta(
                               rng.integers(0, 400, m), "D")).strftime("%Y-%m-%d"),
                           "amount": rng.gamma(2.0, 20.0, m).round(2)})
    return customers.to_csv(index=False).encode(), orders.to_csv(index=False).encode()


def _upload_both(app) -> None:
    customers, orders = _customers_and_orders()
    app.file_uploader(key="upload_0").upload("customers.csv", customers, "text/csv")
    app.run()
    app.file_uploader(key="related_upload_1").upload("orders.csv", orders, "text/csv")
    app.run()


def test_a_related_table_is_joined_with_a_cutoff_explained_and_removed(app):
    _upload_both(app)
    text = page_text(app)
    assert "orders.csv" in text and "find their customer_id in orders.cust" in text
    key_choice = app.selectbox(key=next(s.key for s in app.selectbox if s.key.startswith("join_key_")))
    assert key_choice.value == 0 and "one-to-many" in key_choice.format_func(0)
    see = next(r for r in app.radio if r.key.startswith("join_see_"))
    assert see.value == "column"  # a prediction time exists: only earlier events, by default
    features = next(m for m in app.multiselect if m.key.startswith("join_features_"))
    assert "orders_count" in features.value and "orders_days_since_last" in features.value
    app.button(key="join_apply").click().run()
    project = current(app)
    join = project.recipe.joins[0]
    assert (join.main_key, join.related_key, join.relation) == ("customer_id", "cust", "one_to_many")
    assert (join.cutoff.main_column, join.cutoff.event_column) == ("signup_date", "order_date")
    assert project.frame.shape[0] == 120 and "orders_count" in project.frame.columns
    assert project.base.frame.shape == (120, 4)
    assert (project.frame["orders_count"] == 0).sum() >= 10  # the customers without orders
    text = page_text(app)
    assert "Joined orders.csv." in plain(app.success[0].value)
    assert "orders: one-to-many on customer_id = cust" in plain(text)
    app.button(key="join_remove_orders").click().run()
    project = current(app)
    assert project.recipe.joins == [] and project.base is None
    assert list(project.frame.columns) == ["customer_id", "signup_date", "plan", "churned"]


def test_joining_without_a_cutoff_warns_that_summaries_may_hold_the_future(app):
    _upload_both(app)
    next(r for r in app.radio if r.key.startswith("join_see_")).set_value("all").run()
    assert any("can learn from the future" in w.value for w in app.warning)
    app.button(key="join_apply").click().run()
    project = current(app)
    assert project.recipe.joins[0].cutoff is None
    assert any("may include events after" in w for r in project.join_reports for w in r.warnings)


def test_a_related_table_can_come_from_a_database_query(app, tmp_path):
    customers, orders = _customers_and_orders()
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as con:
        pd.read_csv(io.BytesIO(orders)).to_sql("orders", con, index=False)
    app.file_uploader(key="upload_0").upload("customers.csv", customers, "text/csv")
    app.run()
    app.text_input(key="join_sql_url").input(f"sqlite:///{path}")
    app.text_area(key="join_sql_query").input("SELECT cust, order_date, amount FROM orders")
    app.text_input(key="join_sql_name").input("Orders")
    app.button(key="join_sql_run").click().run()
    assert not app.exception
    assert "Read 900 related rows as orders." in plain(app.success[0].value)
    app.button(key="join_apply").click().run()
    project = current(app)
    assert project.recipe.joins[0].name == "orders"
    assert project.recipe.joins[0].related_key == "cust"
    assert "orders_count" in project.frame.columns and len(project.frame) == 120
