"""Fixtures shared by every test: where the repository, the samples and the benchmark data are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The benchmark datasets live outside the repository, in the workspace's shared/ folder beside it
# (CI clones the repository with shared/ next to the clone).
DATASETS_DIR = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """``sample_data/``: the CSVs the app offers as one-click samples, with samples.json."""
    return REPO_ROOT / "sample_data"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``../shared/datasets`` with ``datasets.json``; tests using it skip when it is absent."""
    if not (DATASETS_DIR / "datasets.json").is_file():
        pytest.skip(
            f"benchmark datasets not found: expected {DATASETS_DIR}/datasets.json "
            "(the shared/ folder beside the repository)"
        )
    return DATASETS_DIR
