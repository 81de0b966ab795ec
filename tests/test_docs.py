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


def _architecture_tree() -> set[str]:
    """The file paths the README's architecture tree names (folders nest by indentation)."""
    block = README.split("## Architecture", 1)[1].split("```", 2)[1]
    paths, stack = set(), []
    for line in block.splitlines():
        name = line.strip().split(" ", 1)[0] if line.strip() else ""
        if not name.endswith((".py", "/")):
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        stack = stack[:depth] + [name]
        if name.endswith(".py"):
            paths.add("".join(stack))
    return paths


def test_readme_maps_every_core_module():
    """A newcomer finds any feature's code from the README: every module of core/ is named."""
    named = _architecture_tree()
    for path in sorted((ROOT / "core").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py":
            continue
        assert relative in named, f"README's architecture map does not name {relative}"
    assert all((ROOT / p).exists() for p in named if p.startswith("core/")), "the map names a missing file"


def test_readme_lists_every_environment_setting():
    from core.settings import ENVIRONMENT

    for name, default, _ in ENVIRONMENT:
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"README does not list the setting {name}"
        assert default in row


def test_only_settings_reads_tabwright_environment_variables():
    """Every setting has one home: no other module reads a TABWRIGHT_* variable itself."""
    reading = re.compile(r"environ(?:\.get)?\s*[\[(]\s*[\"']TABWRIGHT_")
    offenders = [p.relative_to(ROOT).as_posix()
                 for folder in ("core", "pages") for p in (ROOT / folder).rglob("*.py")
                 if p.name != "settings.py" and reading.search(p.read_text(encoding="utf-8"))]
    offenders += ["app.py"] if reading.search((ROOT / "app.py").read_text(encoding="utf-8")) else []
    assert offenders == []
