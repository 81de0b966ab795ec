"""Tests for core.ingest._database: a query's rows as a table, read-only, with plain errors.

Against SQLite files and a real PostgreSQL server (see conftest.py); the command line end to
end through a real process; and a model trained from a query, whose every output is searched
for the password.
"""

from __future__ import annotations

import json
import os
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from core.deliver import RunStore, build_report, render_html, write_bundle
from core.errors import TabwrightError
from core.ingest import PasswordRequired, read_query
from core.project import Project, load_query, set_target, update_recipe
from core.recipe import DataSource, ModelChoice
from core.settings import Limits
from core.train import train
from tests.ingest.conftest import PG_ROWS, Postgres, free_port

ROOT = Path(__file__).resolve().parents[2]
TINY_RECIPE = {"auto": False, "models": [{"name": "logistic_regression"}],
               "validation": {"folds": 3}}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def refusal(url: str, query: str, **options) -> TabwrightError:
    with pytest.raises(TabwrightError) as caught:
        read_query(url, query, **options)
    assert caught.value.hint, "every refusal says what to do"
    return caught.value


def run_cli(*args: str, cwd: Path, password: str | None = None) -> subprocess.CompletedProcess:
    """The real `tabwright` process in ``cwd`` (its workspace too), with no terminal on stdin
    (as in CI)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABWRIGHT_")}
    env |= {"PYTHONPATH": str(ROOT), "TABWRIGHT_WORKSPACE": str(cwd)}
    if password is not None:
        env["TABWRIGHT_DB_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=300, cwd=cwd)


# --------------------------------------------------------------------------- SQLite


def test_sqlite_query_reads_typed_columns(sqlite_db):
    table = read_query(sqlite_url(sqlite_db), "SELECT * FROM people ORDER BY id")
    frame = table.frame
    assert frame.shape == (30, 7)
    assert table.name == sqlite_url(sqlite_db) and table.source_format == "sql"
    assert table.summary() == "30 rows × 7 columns, database query"
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "id": "int64", "name": "object", "age": "int64", "income": "float64",
        "joined": "datetime64[ns]", "vip": "int64", "city": "object"}
    assert frame["income"].isna().sum() == 4  # rows 7, 14, 21, 28
    assert frame["joined"].iloc[0].isoformat() == "2021-03-02T00:00:00"
    assert table.conversions == {"joined": "text like '2021-03-02' read as dates"}
    assert len(table.fingerprint) == 64
    again = read_query(sqlite_url(sqlite_db), "SELECT * FROM people ORDER BY id")
    assert again.fingerprint == table.fingerprint
    other = read_query(sqlite_url(sqlite_db), "SELECT * FROM people ORDER BY id DESC")
    assert other.fingerprint != table.fingerprint


def test_sqlite_values_of_mixed_or_odd_types_are_typed_as_a_csv_column_would_be(tmp_path):
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE odd (mixed, price TEXT, raw BLOB)")
        con.executemany("INSERT INTO odd VALUES (?, ?, ?)",
                        [(i if i % 2 else str(i), f"${i},250", b"\x00\x01") for i in range(1, 9)])
    table = read_query(sqlite_url(path), "SELECT * FROM odd")
    assert table.frame["mixed"].tolist() == list(range(1, 9))
    assert table.frame["price"].iloc[0] == 1250
    assert table.conversions["price"].startswith("text like '$1,250' read as numbers")
    assert "raw" not in table.frame
    assert table.notes == ["Column 'raw' was left out: it holds binary data, JSON or arrays, "
                           "which a model cannot use."]


def test_sqlite_join_with_aliases_and_a_repeated_column_name(sqlite_db):
    joined = read_query(sqlite_url(sqlite_db),
                        "SELECT p.name, o.amount, o.id AS order_id FROM orders o "
                        "JOIN people p ON p.id = o.person WHERE o.amount > 250")
    assert list(joined.frame.columns) == ["name", "amount", "order_id"]
    assert len(joined.frame) == 50
    error = refusal(sqlite_url(sqlite_db),
                    "SELECT p.id, o.id FROM orders o JOIN people p ON p.id = o.person")
    assert error.message == "The query returns the column 'id' more than once."
    assert "AS" in error.hint


def test_sqlite_row_limit_is_refused_with_a_message(sqlite_db):
    assert len(read_query(sqlite_url(sqlite_db), "SELECT * FROM orders",
                          limits=Limits(max_rows=100)).frame) == 100
    error = refusal(sqlite_url(sqlite_db), "SELECT * FROM orders", limits=Limits(max_rows=50))
    assert error.message == "The query must return at most 50 rows (limit max_rows), got more."
    assert "TABWRIGHT_MAX_ROWS" in error.hint and "LIMIT" in error.hint


@pytest.mark.parametrize("statement", [
    "INSERT INTO orders VALUES (1000, 1, 1.0)",
    "DELETE FROM orders",
    "UPDATE people SET age = 0",
    "CREATE TABLE t (a INTEGER)",
    "DROP TABLE orders",
])
def test_sqlite_write_statements_are_refused_and_change_nothing(sqlite_db, statement):
    before = sqlite_db.read_bytes()
    error = refusal(sqlite_url(sqlite_db), statement)
    assert error.message == ("The query tries to change the database, and tabwright only reads: "
                             "the connection lets a query read rows, nothing else.")
    assert sqlite_db.read_bytes() == before


@pytest.mark.parametrize("statement", [
    "ATTACH DATABASE '{folder}/new.db' AS new",
    "VACUUM INTO '{folder}/new.db'",
    "PRAGMA query_only = OFF",
])
def test_sqlite_creates_no_file_and_cannot_be_switched_to_writing(sqlite_db, statement):
    error = refusal(sqlite_url(sqlite_db), statement.format(folder=sqlite_db.parent))
    assert error.message.startswith("The query tries to change the database")
    assert sorted(p.name for p in sqlite_db.parent.iterdir()) == ["shop.db"]


def test_sqlite_takes_one_statement(sqlite_db):
    assert refusal(sqlite_url(sqlite_db), "SELECT 1; DELETE FROM orders").message == \
        "The query must be one statement, got several."
    with sqlite3.connect(sqlite_db) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (100,)


def test_sqlite_syntax_error_and_unknown_table(sqlite_db):
    error = refusal(sqlite_url(sqlite_db), "SELEC * FROM people")
    assert error.message == 'The query has a syntax error: near "SELEC": syntax error.'
    error = refusal(sqlite_url(sqlite_db), "SELECT * FROM nobody")
    assert error.message == "The query failed: no such table: nobody."


def test_sqlite_no_rows_and_an_empty_query(sqlite_db):
    url = sqlite_url(sqlite_db)
    assert refusal(url, "SELECT * FROM empty").message == "The query returned no rows."
    assert refusal(url, "SELECT * FROM people WHERE age > 1000").message == "The query returned no rows."
    assert refusal(url, "   ").message == "The query is empty."


def test_sqlite_timeout_stops_a_long_query(sqlite_db):
    forever = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    started = time.monotonic()
    error = refusal(sqlite_url(sqlite_db), forever, limits=Limits(db_timeout_seconds=1))
    assert time.monotonic() - started < 10
    assert error.message == ("The query ran longer than 1 seconds (limit db_timeout_seconds) "
                             "and was stopped.")
    assert "TABWRIGHT_DB_TIMEOUT_SECONDS" in error.hint


@pytest.mark.parametrize("url, message", [
    ("not a url", "The database URL is not valid."),
    ("", "The database URL is not valid."),
    ("postgresql://u:secret@host:port/db", "The database URL is not valid."),
    ("foo://host/db", "tabwright does not know the database kind 'foo'."),
    ("postgresql+nodriver://u@h/db", "tabwright does not know the database kind 'postgresql' "
                                     "with the driver 'nodriver'."),
    ("mysql://u@h/db", "The mysqldb driver for mysql databases is not installed."),
    ("postgresql+psycopg2://u@h/db", "tabwright cannot read postgresql databases through the "
                                     "driver 'psycopg2'."),
    ("sqlite://", "The SQLite URL names no database file."),
    ("sqlite:////no/such/file.db", "No SQLite database file at '/no/such/file.db'."),
])
def test_bad_urls_get_one_plain_message_each(url, message):
    error = refusal(url, "SELECT 1")
    assert error.message == message
    assert "secret" not in error.full_text


# --------------------------------------------------------------------------- PostgreSQL


def test_postgresql_query_reads_typed_columns(postgres: Postgres):
    table = read_query(postgres.url(), "SELECT * FROM customers ORDER BY id",
                       password=postgres.password)
    frame = table.frame
    assert frame.shape == (PG_ROWS, 10)
    assert table.name == postgres.url() and postgres.password not in table.name
    dtypes = {c: str(t) for c, t in frame.dtypes.items()}
    assert dtypes.pop("last_seen").startswith("datetime64[ns, ")  # in the server's time zone
    assert dtypes == {
        "id": "int64", "name": "object", "plan": "object", "signup": "datetime64[ns]",
        "balance": "float64", "score": "float64", "active": "bool", "visits": "float64",
        "churned": "int64"}
    assert frame["balance"].iloc[0] == 12.5 and frame["score"].isna().sum() == PG_ROWS // 10
    assert frame["last_seen"].iloc[0] == pd.Timestamp("2024-05-01 13:00", tz="UTC")
    assert table.conversions == {"balance": "exact decimals read as floating-point numbers"}


def test_postgresql_password_in_the_url_is_used_but_not_shown(postgres: Postgres):
    table = read_query(postgres.url(password=True) + "?application_name=tw",
                       "SELECT name FROM customers WHERE id <= 3")
    assert table.name == postgres.url() + "?application_name=tw"
    assert table.frame["name"].tolist() == ["C1", "C2", "C3"]


def test_postgresql_wrong_or_missing_password(postgres: Postgres):
    error = refusal(postgres.url(), "SELECT 1", password="wrong")
    assert error.message == (f"The database at 127.0.0.1:{postgres.port} refused the password "
                             "for the user 'analyst'.")
    with pytest.raises(PasswordRequired) as caught:
        read_query(postgres.url(), "SELECT 1")
    assert caught.value.message == (f"The database at 127.0.0.1:{postgres.port} asked for a "
                                    "password for the user 'analyst', and none was given.")


def test_postgresql_refused_connection():
    port = free_port()
    error = refusal(f"postgresql://analyst@127.0.0.1:{port}/shop", "SELECT 1", password="x")
    assert error.message == (f"Could not connect to the database at 127.0.0.1:{port}: the "
                             "connection was refused.")


def test_postgresql_unknown_database_says_why(postgres: Postgres):
    url = postgres.url().rsplit("/", 1)[0] + "/nosuchdb"
    error = refusal(url, "SELECT 1", password=postgres.password)
    assert error.message == (f"Could not connect to the database at 127.0.0.1:{postgres.port}: "
                             'database "nosuchdb" does not exist.')


def test_postgresql_syntax_error_and_unknown_table(postgres: Postgres):
    error = refusal(postgres.url(), "SELEC * FROM customers", password=postgres.password)
    assert error.message == 'The query has a syntax error: syntax error at or near "SELEC".'
    error = refusal(postgres.url(), "SELECT * FROM nobody", password=postgres.password)
    assert error.message == 'The query failed: relation "nobody" does not exist.'


def test_postgresql_timeout(postgres: Postgres):
    started = time.monotonic()
    error = refusal(postgres.url(), "SELECT pg_sleep(5)", password=postgres.password,
                    limits=Limits(db_timeout_seconds=1))
    assert time.monotonic() - started < 4
    assert error.message == ("The query ran longer than 1 seconds (limit db_timeout_seconds) "
                             "and was stopped.")


@pytest.mark.parametrize("statement, reason", [
    ("INSERT INTO customers (id) VALUES (1000)", "cannot execute INSERT in a read-only transaction"),
    ("CREATE TABLE t (a integer)", "cannot execute CREATE TABLE in a read-only transaction"),
    ("DELETE FROM customers", "cannot execute DELETE in a read-only transaction"),
    ("WITH gone AS (DELETE FROM customers RETURNING id) SELECT * FROM gone",
     "cannot execute SELECT in a read-only transaction"),
])
def test_postgresql_write_statements_are_refused(postgres: Postgres, statement, reason):
    error = refusal(postgres.url(), statement, password=postgres.password)
    assert error.message == ("The query tries to change the database, and tabwright only reads: "
                             f"{reason}.")
    _assert_untouched(postgres)


def test_postgresql_read_only_cannot_be_switched_off(postgres: Postgres):
    """One statement only: committing the read-only transaction to start a writable one fails."""
    error = refusal(postgres.url(), "SET default_transaction_read_only = off; COMMIT; "
                                    "INSERT INTO customers (id) VALUES (1000)",
                    password=postgres.password)
    assert error.message == "The query must be one statement, got several."
    error = refusal(postgres.url(), "SET default_transaction_read_only = off",
                    password=postgres.password)
    assert error.message.startswith("The query returned no columns")
    _assert_untouched(postgres)


def _assert_untouched(postgres: Postgres) -> None:
    with psycopg.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                         password=postgres.password, dbname=postgres.database) as con:
        assert con.execute("SELECT count(*), max(id) FROM customers").fetchone() == (PG_ROWS, PG_ROWS)
        assert con.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_postgresql_row_limit_and_no_rows(postgres: Postgres):
    error = refusal(postgres.url(), "SELECT * FROM customers", password=postgres.password,
                    limits=Limits(max_rows=50))
    assert error.message == "The query must return at most 50 rows (limit max_rows), got more."
    error = refusal(postgres.url(), "SELECT * FROM customers WHERE id < 0", password=postgres.password)
    assert error.message == "The query returned no rows."


def test_postgresql_stops_reading_at_the_row_limit(postgres: Postgres):
    """Rows stream in: fifty million rows are refused after the first thousand, in moments."""
    started = time.monotonic()
    error = refusal(postgres.url(), "SELECT generate_series(1, 50000000) AS i",
                    password=postgres.password, limits=Limits(max_rows=1000))
    assert error.message == "The query must return at most 1,000 rows (limit max_rows), got more."
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- the password stays out


QUERY = "SELECT plan, balance, score, active, visits, churned FROM customers"


def test_a_model_trained_from_a_query_keeps_the_password_out(postgres: Postgres, tmp_path):
    project = load_query(Project(), postgres.url(), QUERY, password=postgres.password)
    assert project.recipe.source == DataSource(kind="sql", url=postgres.url(), query=QUERY)
    project = set_target(project, "churned")
    recipe = project.recipe.copy()
    recipe.auto, recipe.models = False, [ModelChoice("logistic_regression")]
    recipe.validation.folds = 3
    project = update_recipe(project, recipe)
    result = train(project.frame, project.recipe)
    assert result.recipe.source == project.recipe.source
    bundle = write_bundle(result, tmp_path / "bundle", data_name=project.table.name)
    recipe_json = json.loads((bundle / "recipe.json").read_text())
    assert recipe_json["source"] == {"kind": "sql", "url": postgres.url(), "query": QUERY}
    report = render_html(build_report(result, profile=project.profile, data_name=project.table.name))
    assert postgres.url() in report
    store = RunStore(tmp_path / "workspace")
    run_id = store.record(result, data_name=project.table.name, hypothesis="from a query")
    assert store.get(run_id)["data_name"] == postgres.url()
    assert postgres.password not in report
    _assert_nowhere(postgres.password, bundle, tmp_path / "workspace")


def _assert_nowhere(secret: str, *folders: Path) -> None:
    """``secret`` is in no file under ``folders`` (the run history's SQLite file included)."""
    files = [p for folder in folders for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


def test_cli_trains_from_a_query_and_repeats_it_from_the_recipe(postgres: Postgres, tmp_path):
    (tmp_path / "in.json").write_text(json.dumps(TINY_RECIPE))
    first = run_cli("train", "--sql", QUERY, "--db", postgres.url(), "--target", "churned",
                    "--recipe", "in.json", "--out", "first", "--quiet",
                    password=postgres.password, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    recipe = json.loads((tmp_path / "first" / "recipe.json").read_text())
    assert recipe["source"] == {"kind": "sql", "url": postgres.url(), "query": QUERY}
    card = json.loads((tmp_path / "first" / "model.json").read_text())
    assert card["training_data"]["name"] == postgres.url()

    again = run_cli("train", "--recipe", "first/recipe.json", "--out", "again", "--quiet",
                    password=postgres.password, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    card_again = json.loads((tmp_path / "again" / "model.json").read_text())
    assert card_again["training_data"]["fingerprint"] == card["training_data"]["fingerprint"]

    no_password = run_cli("train", "--recipe", "first/recipe.json", "--out", "never", cwd=tmp_path)
    assert no_password.returncode == 2
    assert no_password.stderr.strip() == (
        f"tabwright: The database at 127.0.0.1:{postgres.port} asked for a password for the user "
        "'analyst', and none was given. Set TABWRIGHT_DB_PASSWORD to it: there is no terminal "
        "here to ask for it.")
    assert not (tmp_path / "never").exists()
    for done in (first, again, no_password):
        assert postgres.password not in done.stdout + done.stderr
    _assert_nowhere(postgres.password, tmp_path)


def test_cli_asks_for_the_password_when_stdin_is_a_terminal(postgres: Postgres):
    """With a terminal (here a pseudo-terminal, in a new session so the test runner's own
    terminal is never used) and no TABWRIGHT_DB_PASSWORD, the command line prompts for it."""
    controller, terminal = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABWRIGHT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "profile", "--sql", QUERY, "--db", postgres.url(),
         "--json", "-"], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env | {"PYTHONPATH": str(ROOT)}, start_new_session=True)
    try:
        prompt = b""
        deadline = time.monotonic() + 60
        while b"Database password: " not in prompt and time.monotonic() < deadline:
            if select.select([process.stderr], [], [], 1)[0]:
                prompt += os.read(process.stderr.fileno(), 1024)
        # Typed only once asked: getpass flushes what was typed before it turned echo off.
        os.write(controller, f"{postgres.password}\n".encode())
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
        os.close(terminal)
        os.close(controller)
    err = (prompt + err).decode()
    assert process.returncode == 0, err
    assert err.startswith("Database password: ") and postgres.password not in out.decode() + err
    assert json.loads(out)["rows"] == PG_ROWS


def test_cli_profiles_a_postgresql_query_with_the_password_from_the_environment(
        postgres: Postgres, tmp_path):
    done = run_cli("profile", "--sql", QUERY, "--db", postgres.url(), "--target", "churned",
                   "--json", "-", password=postgres.password, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    profile = json.loads(done.stdout)
    assert profile["rows"] == PG_ROWS and profile["file"]["name"] == postgres.url()
    assert postgres.password not in done.stdout + done.stderr
    wrong = run_cli("profile", "--sql", QUERY, "--db", postgres.url(), password="nope",
                    cwd=tmp_path)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "refused the password for the user 'analyst'" in wrong.stderr


def test_cli_profiles_and_trains_from_an_sqlite_query(sqlite_db, tmp_path):
    url = sqlite_url(sqlite_db)
    done = run_cli("profile", "--sql", "SELECT * FROM people", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("30 rows × 7 columns")
    (tmp_path / "in.json").write_text(json.dumps(TINY_RECIPE))
    done = run_cli("train", "--sql", "SELECT age, income, city, vip FROM people", "--db", url,
                   "--target", "vip", "--recipe", "in.json", "--out", "m", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "m" / "recipe.json").read_text())["source"]["url"] == url
    bad = run_cli("profile", "--sql", "DELETE FROM people", "--db", url, cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "tabwright: The query tries to change the database, and tabwright only reads: the "
        "connection lets a query read rows, nothing else. Write a query that reads rows "
        "(SELECT …); tabwright never changes a database."]


def test_sqlite_cell_limit_is_refused_with_a_message(sqlite_db) -> None:
    error = refusal(sqlite_url(sqlite_db), "SELECT * FROM orders", limits=Limits(max_cells=10))
    assert error.message.startswith("The query's result must have at most 10 cells")
