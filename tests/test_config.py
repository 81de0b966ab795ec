"""The Streamlit server settings are the secure ones, and the upload cap agrees with core."""

from __future__ import annotations

import tomllib

import pytest

from core.settings import Limits


@pytest.fixture(scope="module")
def streamlit_config(repo_root):
    with open(repo_root / ".streamlit" / "config.toml", "rb") as file:
        return tomllib.load(file)


def test_cross_site_protections_are_on(streamlit_config):
    server = streamlit_config["server"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True


def test_no_files_are_served_statically(streamlit_config):
    assert streamlit_config["server"]["enableStaticServing"] is False


def test_browser_never_sees_exception_details(streamlit_config):
    assert streamlit_config["client"]["showErrorDetails"] == "none"


def test_server_listens_on_loopback_by_default(streamlit_config):
    assert streamlit_config["server"]["address"] == "127.0.0.1"


def test_no_usage_statistics_are_sent(streamlit_config):
    assert streamlit_config["browser"]["gatherUsageStats"] is False


def test_upload_cap_matches_core_limit(streamlit_config):
    megabytes = streamlit_config["server"]["maxUploadSize"]
    assert megabytes * 1024 * 1024 == Limits().max_upload_bytes


def test_every_option_is_one_streamlit_knows(streamlit_config):
    """A misspelt key is silently ignored by Streamlit, which would drop a protection unnoticed."""
    from streamlit import config as st_config

    known = set(st_config._config_options_template)
    keys = {
        f"{section}.{name}"
        for section, options in streamlit_config.items()
        for name in options
    }
    assert keys - known == set()
