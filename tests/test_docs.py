"""Docs that stay honest: every limit and every page appears in the README."""

import re
from pathlib import Path

from core.settings import Limits

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_limit_with_its_variable_and_default():
    for name, default, _ in Limits.describe():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"README does not list the limit {name}"
        assert f"TABWRIGHT_{name.upper()}" in row
        assert f"{default:,}" in row


def test_readme_maps_every_page():
    from pages._ui import PAGES

    for page in PAGES:
        assert page.path in README, f"README does not mention {page.path}"
        assert (ROOT / page.path).exists()


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one():
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make \w+", section, flags=re.M)
    assert commands == ["make app", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
