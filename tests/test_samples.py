"""Every one-click sample in sample_data/samples.json is real, loadable and documented."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

SAMPLES_JSON = Path(__file__).resolve().parent.parent / "sample_data" / "samples.json"
SAMPLES = json.loads(SAMPLES_JSON.read_text(encoding="utf-8"))
TASKS = {"binary", "multiclass", "regression"}


def _id(sample: dict) -> str:
    return sample["file"]


def test_samples_json_lists_every_csv_once(sample_dir):
    listed = [sample["file"] for sample in SAMPLES]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(path.name for path in sample_dir.glob("*.csv"))


@pytest.mark.parametrize("sample", SAMPLES, ids=_id)
def test_sample_entry_has_every_field(sample):
    assert set(sample) == {"name", "file", "target", "task", "description"}
    assert all(isinstance(value, str) and value.strip() for value in sample.values())
    assert sample["task"] in TASKS


@pytest.mark.parametrize("sample", SAMPLES, ids=_id)
def test_sample_loads_with_its_target(sample, sample_dir):
    frame = pd.read_csv(sample_dir / sample["file"])
    assert sample["target"] in frame.columns
    target = frame[sample["target"]]
    assert target.notna().all()
    if sample["task"] == "binary":
        assert target.nunique() == 2
    elif sample["task"] == "regression":
        assert pd.api.types.is_numeric_dtype(target)
        assert target.nunique() > 20


@pytest.mark.parametrize("sample", SAMPLES, ids=_id)
def test_sample_is_described_in_readme_with_its_shape(sample, sample_dir):
    readme = (sample_dir / "README.md").read_text(encoding="utf-8")
    rows, cols = pd.read_csv(sample_dir / sample["file"]).shape
    assert f"## {sample['file']}" in readme
    assert f"`{sample['target']}`" in readme
    assert f"{rows:,} × {cols}" in readme


@pytest.mark.parametrize("sample", SAMPLES, ids=_id)
def test_sample_is_an_exact_copy_of_the_benchmark_file(sample, sample_dir, datasets_dir):
    catalogue = json.loads((datasets_dir / "datasets.json").read_text(encoding="utf-8"))
    entry = next(d for d in catalogue["datasets"] if d["file"] == sample["file"])
    assert (entry["target"], entry["task"]) == (sample["target"], sample["task"])

    def digest(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(sample_dir / sample["file"]) == digest(datasets_dir / sample["file"])
