"""Package names load on first use; a command imports only the stages it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import core.deliver
import core.monitor
from core.lazy import LazyModule


def test_a_name_loads_from_its_home_once_and_unknown_names_raise():
    assert core.deliver.predict_table is core.deliver._predict.predict_table
    assert "predict_table" in vars(core.deliver)  # kept after the first lookup
    assert core.monitor.figures.__name__ == "core.monitor.figures"  # a submodule by its name
    assert {"RunStore", "predict_table"} <= set(dir(core.deliver)) and "RunStore" in core.deliver.__all__
    with pytest.raises(AttributeError, match="module 'core.deliver' has no attribute 'nope'"):
        core.deliver.nope  # noqa: B018


def test_the_command_line_starts_without_the_stages_it_does_not_run():
    code = ("import sys, core.cli; print(sorted(m for m in ('sklearn', 'fastapi', 'plotly', "
            "'optuna', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_lazy_module_imports_on_first_use():
    json = LazyModule("json")
    assert json.dumps([1]) == "[1]"
