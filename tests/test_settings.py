"""Tests for core.settings: the resource limits and every TABWRIGHT_* environment variable."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info

from core import settings
from core.errors import TabwrightError
from core.settings import ENVIRONMENT, Limits


@pytest.fixture
def clean_env(monkeypatch):
    """No TABWRIGHT_* setting from the caller's environment leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("TABWRIGHT_"):
            monkeypatch.delenv(name)
    return monkeypatch


# --------------------------------------------------------------------------- limits


def test_from_env_without_variables_gives_the_defaults():
    assert Limits.from_env({}) == Limits()
    assert Limits().max_rows == 5_000_000
    assert Limits().max_upload_bytes == 1024 * 1024 * 1024


def test_from_env_overrides_only_the_named_limits():
    limits = Limits.from_env({"TABWRIGHT_MAX_ROWS": "123", "TABWRIGHT_MAX_COLUMNS": "7",
                              "UNRELATED": "x"})
    assert limits.max_rows == 123 and limits.max_columns == 7
    assert limits.max_field_chars == Limits().max_field_chars


def test_from_env_reads_the_process_environment_by_default(clean_env):
    clean_env.setenv("TABWRIGHT_PLOT_SAMPLE_ROWS", "99")
    assert Limits.from_env().plot_sample_rows == 99
    assert settings.current().plot_sample_rows == 99


@pytest.mark.parametrize("raw", ["ten", "1.5", ""])
def test_from_env_refuses_a_non_integer_naming_the_variable(raw):
    with pytest.raises(TabwrightError) as info:
        Limits.from_env({"TABWRIGHT_MAX_ROWS": raw})
    assert "TABWRIGHT_MAX_ROWS" in info.value.message
    assert "whole number" in info.value.message
    assert "5000000" in info.value.hint  # the default it falls back to when unset


@pytest.mark.parametrize("raw", ["0", "-5"])
def test_from_env_refuses_a_non_positive_value_naming_the_variable(raw):
    with pytest.raises(TabwrightError) as info:
        Limits.from_env({"TABWRIGHT_MAX_TRAINING_SECONDS": raw})
    assert "TABWRIGHT_MAX_TRAINING_SECONDS" in info.value.message
    assert "must be positive" in info.value.message


def test_every_limit_is_described_with_a_sentence():
    described = Limits.describe()
    assert [name for name, _, _ in described] == [f.name for f in fields(Limits)]
    for name, default, doc in described:
        assert isinstance(default, int) and default > 0, name
        assert doc.endswith("."), name


# --------------------------------------------------------------------------- the environment


def test_every_environment_setting_is_a_tabwright_variable_with_a_default_and_a_doc():
    names = [name for name, _, _ in ENVIRONMENT]
    assert len(names) == len(set(names))
    for name, default, doc in ENVIRONMENT:
        assert name.startswith("TABWRIGHT_"), name
        assert default and doc, name
    limit_names = {f"TABWRIGHT_{f.name.upper()}" for f in fields(Limits)}
    assert not limit_names & set(names)  # each variable is documented in one place
    assert {"TABWRIGHT_THREADS", "TABWRIGHT_WORKSPACE", "TABWRIGHT_DASK_SCHEDULER",
            "TABWRIGHT_REQUIRE_LOGIN", "TABWRIGHT_POLL_SECONDS", "TABWRIGHT_DEBUG",
            "TABWRIGHT_DB_PASSWORD", "TABWRIGHT_LOG_MAX_DAYS", "TABWRIGHT_LOG_MAX_MB"} == set(names)


def test_log_retention_settings_are_positive_numbers(monkeypatch):
    from core.settings import log_max_bytes, log_max_days

    assert log_max_days() == 90 and log_max_bytes() == 1024 * 1024 * 1024
    monkeypatch.setenv("TABWRIGHT_LOG_MAX_DAYS", "7.5")
    monkeypatch.setenv("TABWRIGHT_LOG_MAX_MB", "10")
    assert log_max_days() == 7.5 and log_max_bytes() == 10 * 1024 * 1024
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv("TABWRIGHT_LOG_MAX_DAYS", bad)
        with pytest.raises(TabwrightError, match="TABWRIGHT_LOG_MAX_DAYS must be a positive number"):
            log_max_days()


def test_threads_defaults_to_one_and_reads_the_variable(clean_env):
    assert settings.threads() == 1
    clean_env.setenv("TABWRIGHT_THREADS", "3")
    assert settings.threads() == 3


@pytest.mark.parametrize("raw, words", [("many", "whole number"), ("0", "must be positive"),
                                        ("-2", "must be positive")])
def test_threads_refuses_bad_values(clean_env, raw, words):
    clean_env.setenv("TABWRIGHT_THREADS", raw)
    with pytest.raises(TabwrightError, match="TABWRIGHT_THREADS") as info:
        settings.threads()
    assert words in info.value.message


def test_thread_limit_caps_blas_pools_at_the_threads_setting(clean_env):
    import numpy  # noqa: F401  (loads a BLAS pool to limit)

    assert threadpool_info()
    clean_env.setenv("TABWRIGHT_THREADS", "1")
    with settings.thread_limit():
        assert [pool["num_threads"] for pool in threadpool_info()] == [1] * len(threadpool_info())


def test_workspace_uses_the_variable_and_creates_the_folder(clean_env, tmp_path):
    target = tmp_path / "deep" / "workspace"
    clean_env.setenv("TABWRIGHT_WORKSPACE", str(target))
    assert not target.exists()
    folder = settings.workspace()
    assert folder == target and folder.is_dir()
    assert settings.workspace() == target  # a second call finds it


def test_workspace_defaults_to_a_folder_in_home(clean_env, tmp_path):
    clean_env.setenv("HOME", str(tmp_path))
    assert settings.workspace() == tmp_path / ".tabwright"
    assert (tmp_path / ".tabwright").is_dir()
    assert isinstance(settings.workspace(), Path)


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), (" YES ", True),
                                           ("on", True), ("0", False), ("no", False), ("", False)])
def test_require_login_reads_truthy_words(clean_env, raw, expected):
    clean_env.setenv("TABWRIGHT_REQUIRE_LOGIN", raw)
    assert settings.require_login() is expected


def test_require_login_is_off_when_unset(clean_env):
    assert settings.require_login() is False


def test_poll_seconds(clean_env):
    assert settings.poll_seconds() == 3600.0
    clean_env.setenv("TABWRIGHT_POLL_SECONDS", "2.5")
    assert settings.poll_seconds() == 2.5


def test_debug(clean_env):
    assert settings.debug() is False
    clean_env.setenv("TABWRIGHT_DEBUG", "1")
    assert settings.debug() is True


def test_dask_scheduler(clean_env):
    assert settings.dask_scheduler() is None
    clean_env.setenv("TABWRIGHT_DASK_SCHEDULER", "")
    assert settings.dask_scheduler() is None
    clean_env.setenv("TABWRIGHT_DASK_SCHEDULER", "tcp://scheduler:8786")
    assert settings.dask_scheduler() == "tcp://scheduler:8786"


def test_debug_reads_a_switch_not_any_text(clean_env, monkeypatch):
    for off in ("0", "false", "no", ""):
        monkeypatch.setenv("TABWRIGHT_DEBUG", off)
        assert settings.debug() is False, off


def test_poll_seconds_refuses_text_with_a_plain_message(clean_env, monkeypatch):
    monkeypatch.setenv("TABWRIGHT_POLL_SECONDS", "abc")
    with pytest.raises(TabwrightError, match="TABWRIGHT_POLL_SECONDS must be a number"):
        settings.poll_seconds()


def test_db_password_is_read_from_its_variable_only_when_set(clean_env):
    assert settings.db_password() is None
    clean_env.setenv("TABWRIGHT_DB_PASSWORD", "")
    assert settings.db_password() is None
    clean_env.setenv("TABWRIGHT_DB_PASSWORD", " s3cret ")
    assert settings.db_password() == " s3cret "  # a password is taken exactly as given


def test_db_timeout_is_a_limit_with_its_variable(clean_env):
    assert Limits().db_timeout_seconds == 120
    clean_env.setenv("TABWRIGHT_DB_TIMEOUT_SECONDS", "5")
    assert settings.current().db_timeout_seconds == 5


def test_wide_tables_are_limited_by_cells_with_a_high_column_sanity_cap():
    limits = Limits()
    assert limits.max_columns == 100_000 and limits.max_cells == 100_000_000
    limits.check_shape(300, 5_000)
    limits.check_shape(5_000_000, 20)  # the row cap's table still fits the cells
    with pytest.raises(TabwrightError) as info:
        Limits(max_cells=1_000_000).check_shape(300, 5_000)
    assert info.value.message == ("The table must have at most 1,000,000 cells (rows × columns, "
                                  "limit max_cells), got 300 × 5,000 = 1,500,000.")
    assert "TABWRIGHT_MAX_CELLS" in info.value.hint
    with pytest.raises(TabwrightError, match=r"at most 10 columns \(limit max_columns\), "
                                             r"got at least 11"):
        Limits(max_columns=10).check_shape(None, 11, at_least=True)
    with pytest.raises(TabwrightError, match=r"The query must have at most 5 rows"):
        Limits(max_rows=5).check_shape(6, 1, what="The query")


def test_a_csv_above_the_old_column_cap_loads_and_one_over_the_cell_limit_is_refused(tmp_path):
    from core.ingest import read_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(50, 5_000)).round(3),
                         columns=[f"gene_{i}" for i in range(5_000)])
    data = frame.to_csv(index=False).encode()
    table = read_table(data, name="wide.csv")
    assert table.frame.shape == (50, 5_000)
    assert table.frame["gene_4999"].dtype == "float64"
    with pytest.raises(TabwrightError) as info:
        read_table(data, name="wide.csv", limits=Limits(max_cells=200_000))
    assert "at most 200,000 cells (rows × columns, limit max_cells), got 50 × 5,000 = 250,000" \
        in info.value.message
