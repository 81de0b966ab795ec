"""Tests for core.deliver._container: the Dockerfile, pinned requirements and wheel a bundle carries.

Docker is not on the test machines, so the slow tests do what the image would do: a fresh
virtualenv gets exactly ``pip install -r requirements.txt`` and the wheel with ``--no-deps``,
then serves the bundle with ``tabwright serve --trust`` from another folder and workspace, and
its predictions are compared with :func:`core.deliver._predict.predict_table` here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import json
import math
import os
import pickle
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import core
from core.deliver._bundle import load_bundle
from core.deliver._container import (
    DIST_NAME,
    ENTRY_POINT,
    MODEL_DIR,
    PORT,
    SERVING_REQUIREMENTS,
    WORKSPACE_DIR,
    container_files,
    dockerfile,
    model_libraries,
    pinned_requirements,
    requirements_txt,
    tabwright_wheel,
    wheel_name,
)
from core.deliver._export import bundle_files, write_bundle
from core.deliver._predict import predict_table
from core.ingest import read_table
from core.recipe import ModelChoice, Recipe
from core.train._runner import train

REPO_ROOT = Path(__file__).resolve().parents[2]
NOT_FOR_SERVING = {"streamlit", "bokeh", "ydata-profiling", "streamlit-bokeh", "tabwright"}
EXPECTED_CMD = ["tabwright", "serve", MODEL_DIR, "--host", "0.0.0.0", "--port", str(PORT), "--trust"]


@pytest.fixture(autouse=True)
def workspace(monkeypatch, tmp_path):
    """Each test signs with a key in its own workspace, never the user's ~/.tabwright."""
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "workspace"))


@pytest.fixture(scope="module")
def titanic(sample_dir):
    table = read_table(sample_dir / "titanic.csv")
    result = train(table.frame, Recipe(target="survived", auto=False,
                                       models=[ModelChoice("hist_gradient_boosting")]))
    return table, result


# --------------------------------------------------------------------------- the Dockerfile


def _instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile as ``(INSTRUCTION, arguments)``, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    out = []
    for line in logical:
        instruction, _, arguments = line.strip().partition(" ")
        out.append((instruction.upper(), " ".join(arguments.split())))
    return out


def test_the_dockerfile_builds_a_slim_image_that_serves_the_model_as_a_user():
    steps = _instructions(dockerfile())
    kinds = [kind for kind, _ in steps]
    assert steps[0] == ("FROM", f"python:{sys.version_info.major}.{sys.version_info.minor}-slim")
    runs = " && ".join(args for kind, args in steps if kind == "RUN")
    wheel = wheel_name()
    assert "pip install --no-cache-dir -r /tmp/install/requirements.txt" in runs
    assert f"pip install --no-cache-dir --no-deps /tmp/install/{wheel}" in runs
    copies = [args.split() for kind, args in steps if kind == "COPY"]
    assert copies == [["requirements.txt", wheel, "/tmp/install/"],
                      ["model.joblib", "model.json", f"{MODEL_DIR}/"]]
    user = [args for kind, args in steps if kind == "USER"]
    assert user == ["tabwright"] and "useradd --create-home --uid 10001 tabwright" in runs
    # the model is copied as root (the server cannot change it), then privileges are dropped
    model_copy = next(i for i, (kind, args) in enumerate(steps) if kind == "COPY" and "model.joblib" in args)
    assert model_copy < kinds.index("USER") < kinds.index("CMD")
    env = dict(args.split("=", 1) for args in
               " ".join(a for k, a in steps if k == "ENV").split())
    assert env["TABWRIGHT_WORKSPACE"] == WORKSPACE_DIR
    assert f"chown tabwright {WORKSPACE_DIR}" in runs
    assert ("EXPOSE", str(PORT)) in steps
    health = next(args for kind, args in steps if kind == "HEALTHCHECK")
    probe = json.loads(health[health.index("CMD") + 3:])
    assert probe[:2] == ["python", "-c"] and "urllib.request.urlopen" in probe[2]
    assert f"http://127.0.0.1:{PORT}/health" in probe[2]
    compile(probe[2], "<healthcheck>", "exec")  # the probe is valid Python
    assert json.loads(next(args for kind, args in steps if kind == "CMD")) == EXPECTED_CMD
    assert kinds[-1] == "CMD"


def test_the_dockerfile_explains_why_it_trusts_the_model():
    text = dockerfile()
    comment = text[:text.index("\nCMD [")].rsplit("\n\n", 1)[1]
    assert "--trust" in comment and "model.sig" in comment and "key" in comment
    assert "never build an image from a bundle someone else sent you" in comment


def test_a_bundle_holds_every_file_its_dockerfile_copies(titanic):
    _, result = titanic
    files = bundle_files(result, data_name="titanic.csv")
    for kind, args in _instructions(files["Dockerfile"].decode()):
        if kind == "COPY":
            assert set(args.split()[:-1]) <= set(files)
    assert files["requirements.txt"] == requirements_txt().encode()
    assert files[wheel_name()] == tabwright_wheel()


# --------------------------------------------------------------------------- requirements.txt


def _pins(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    pins = dict(line.split("==") for line in lines)
    assert len(pins) == len(lines), "a distribution is pinned twice"
    return pins


def test_requirements_pin_what_serving_imports_at_the_versions_installed_here():
    pins = _pins(requirements_txt())
    assert list(pins) == sorted(pins)
    for name, version in pins.items():
        assert name == canonicalize_name(name)
        assert importlib.metadata.version(name) == version, name
    assert {canonicalize_name(n) for n in SERVING_REQUIREMENTS} <= set(pins)
    assert not NOT_FOR_SERVING & set(pins)
    # the same pins the model card records
    assert pins["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert pins["numpy"] == importlib.metadata.version("numpy")


def test_requirements_are_closed_so_pip_installs_nothing_unpinned():
    pins = _pins(requirements_txt())
    for name in pins:
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                dependency = canonicalize_name(requirement.name)
                assert dependency in pins, f"{name} needs {dependency}, which is not pinned"
                assert requirement.specifier.contains(pins[dependency], prereleases=True)


def test_the_serving_list_has_no_duplicates_and_no_app_only_libraries():
    names = [canonicalize_name(n) for n in SERVING_REQUIREMENTS]
    assert len(names) == len(set(names))
    assert not NOT_FOR_SERVING & set(names)
    assert pinned_requirements() == tuple(f"{n}=={v}" for n, v in _pins(requirements_txt()).items())


def test_a_catboost_model_s_image_installs_catboost_and_only_that_one_does(titanic):
    table, result = titanic
    assert model_libraries(result.delivered) == ()
    assert "catboost" not in _pins(bundle_files(result, data_name="t.csv")["requirements.txt"].decode())
    recipe = Recipe(target="survived", auto=False, ensemble=True,
                    models=[ModelChoice("logistic_regression"),
                            ModelChoice("catboost", params={"iterations": 20})])
    boosted = train(table.frame, recipe)
    assert model_libraries(boosted.delivered) == ("catboost",)
    # tabwright's other estimators need scikit-learn only
    from core.estimators import FoldBagClassifier, RareClassBoostingClassifier

    assert model_libraries(FoldBagClassifier(RareClassBoostingClassifier())) == ()
    pins = _pins(container_files(boosted.delivered)["requirements.txt"].decode())
    assert pins["catboost"] == importlib.metadata.version("catboost")
    for name in pins:  # closed: catboost's own dependencies are pinned too
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                assert canonicalize_name(requirement.name) in pins, (name, requirement.name)


# --------------------------------------------------------------------------- the wheel


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_name_version_and_command_agree_with_pyproject():
    project = _pyproject()["project"]
    assert DIST_NAME == project["name"]
    assert core.__version__ == project["version"]
    assert project["scripts"] == {"tabwright": ENTRY_POINT}
    assert wheel_name() == f"{project['name']}-{project['version']}-py3-none-any.whl"


def test_the_wheel_holds_core_and_valid_metadata():
    payload = tabwright_wheel()
    info = f"{DIST_NAME}-{core.__version__}.dist-info"
    package = Path(core.__file__).parent
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        names = zf.namelist()
        entries = {name: zf.read(name) for name in names}
        infos = zf.infolist()
    assert len(names) == len(set(names))
    code = {n for n in names if n.startswith("core/")}
    expected = {f"core/{p.relative_to(package).as_posix()}" for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert code == expected
    assert {"core/__init__.py", "core/cli.py", "core/transformers.py",
            "core/deliver/_serve.py", "core/deliver/templates/report.html.j2"} <= code
    for name in code:
        assert entries[name] == (package / name.removeprefix("core/")).read_bytes()
    assert set(names) - code == {f"{info}/{f}" for f in
                                 ("METADATA", "WHEEL", "entry_points.txt", "top_level.txt", "RECORD")}
    metadata = entries[f"{info}/METADATA"].decode()
    assert f"Name: {DIST_NAME}\n" in metadata and f"Version: {core.__version__}\n" in metadata
    requires = {line.split(": ", 1)[1] for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ")}
    pins = _pins(requirements_txt())
    assert requires == {f"{canonicalize_name(n)}=={pins[canonicalize_name(n)]}"
                        for n in SERVING_REQUIREMENTS}
    wheel = entries[f"{info}/WHEEL"].decode()
    assert "Wheel-Version: 1.0" in wheel and "Root-Is-Purelib: true" in wheel
    assert "Tag: py3-none-any" in wheel
    entry_points = entries[f"{info}/entry_points.txt"].decode().splitlines()
    assert entry_points == ["[console_scripts]", f"tabwright = {ENTRY_POINT}"]
    # RECORD: every other entry once, with its sha256 (urlsafe base64, no padding) and size
    rows = list(csv.reader(io.StringIO(entries[f"{info}/RECORD"].decode())))
    assert rows[-1] == [f"{info}/RECORD", "", ""]
    assert sorted(row[0] for row in rows[:-1]) == sorted(n for n in names if not n.endswith("RECORD"))
    for name, digest, size in rows[:-1]:
        want = base64.urlsafe_b64encode(hashlib.sha256(entries[name]).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={want}", name
        assert int(size) == len(entries[name]), name
    # deterministic: fixed timestamps and permissions, the same bytes twice
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}
    assert tabwright_wheel() == payload


@pytest.mark.slow
def test_pip_accepts_the_wheel_and_it_imports_from_where_it_was_installed(tmp_path):
    wheel = tmp_path / wheel_name()
    wheel.write_bytes(tabwright_wheel())
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-index", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (target / "bin" / "tabwright").is_file()
    assert (target / "core" / "deliver" / "templates" / "report.md.j2").is_file()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", "import core, core.cli; print(core.__file__, core.cli.main.__module__)"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(target / "core" / "__init__.py"), "core.cli"]


def test_container_files_are_the_three_files_the_image_needs():
    files = container_files()
    assert list(files) == ["Dockerfile", "requirements.txt", wheel_name()]
    assert files["Dockerfile"] == dockerfile().encode()


# --------------------------------------------------------------------------- the serving path

# Runs `tabwright serve` as core.cli does, asks /health and /predict once, then prints the
# distributions of every module imported after start-up and exits.
_PROBE = r"""
import os, sys
started = set(sys.modules)
import json, threading, time, urllib.request
bundle, port = sys.argv[1], int(sys.argv[2])
import core.cli

def distributions():
    import importlib.metadata as md
    from packaging.utils import canonicalize_name
    owners = md.packages_distributions()
    found = set()
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        if name in started or top in started or not owners.get(top):
            continue
        candidates = owners[top]
        if len(candidates) > 1:  # a namespace shared by distributions: find the module's owner
            path = getattr(module, "__file__", None) or ""
            candidates = [d for d in candidates if any(
                path.endswith(str(f)) for f in (md.distribution(d).files or []))] or candidates
        found.update(canonicalize_name(d) for d in candidates)
    return sorted(found)

def poke():
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
        card = json.load(open(os.path.join(bundle, "model.json")))
        record = {c["name"]: None for c in card["input_schema"]["columns"]}
        request = urllib.request.Request(url + "/predict", data=json.dumps({"records": [record]}).encode(),
                                         headers={"content-type": "application/json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
        print(json.dumps({"distributions": distributions(), "answer": answer}), flush=True)
    finally:
        os._exit(0)

threading.Thread(target=poke, daemon=True).start()
core.cli.main(["serve", bundle, "--port", str(port), "--trust"])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serving_imports_exactly_the_listed_distributions(titanic, tmp_path):
    _, result = titanic
    bundle = write_bundle(result, tmp_path / "bundle", data_name="titanic.csv")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(bundle), str(_free_port())],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
                          env=env | {"TABWRIGHT_WORKSPACE": str(tmp_path / "served")})
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(probe["answer"]["predictions"]) == 1  # the request really was predicted
    imported = set(probe["distributions"]) - {DIST_NAME}
    listed = {canonicalize_name(n) for n in SERVING_REQUIREMENTS}
    assert not imported - listed, (
        f"`tabwright serve` imports {sorted(imported - listed)}, which SERVING_REQUIREMENTS in "
        "core/deliver/_container.py does not list: the image would not have them. Add them there.")
    assert not listed - imported, (
        f"SERVING_REQUIREMENTS lists {sorted(listed - imported)}, which `tabwright serve` no "
        "longer imports: remove them so the image does not install them.")


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, **options)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.slow
def test_the_image_recipe_serves_the_same_predictions_from_a_fresh_virtualenv(titanic, tmp_path):
    """What `docker build` + `docker run` would do, on this machine: same pins, same command."""
    table, result = titanic
    assert b"core.transformers" in pickle.dumps(result.pipeline)  # the wheel's code is needed to load it
    bundle = write_bundle(result, tmp_path / "bundle", data_name="titanic.csv", table=table)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    started = time.perf_counter()
    _run([sys.executable, "-m", "venv", str(venv)], env=env)
    python = venv / "bin" / "python"
    # The Dockerfile's two pip commands. The requirements go through uv when it is installed:
    # the same exact pins (pip check below confirms pip's view of them), in seconds instead of
    # the minute or more pip takes here to fetch and unpack ~150 MB of wheels.
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    installer = [uv, "pip", "install", "--python", str(python)] if uv else \
        [str(python), "-m", "pip", "install", "--no-cache-dir"]
    _run([*installer, "-r", str(bundle / "requirements.txt")], env=env, cwd=bundle)
    _run([str(python), "-m", "pip", "install", "--no-cache-dir", "--no-deps",
          str(bundle / wheel_name())], env=env, cwd=bundle)
    install_seconds = time.perf_counter() - started
    _run([str(python), "-m", "pip", "check"], env=env)
    frozen = _run([str(python), "-m", "pip", "list", "--format=json"], env=env).stdout
    installed = {canonicalize_name(d["name"]): d["version"] for d in json.loads(frozen)}
    pins = _pins((bundle / "requirements.txt").read_text())
    # nothing but the pins (and the venv's own pip and setuptools) at exactly their versions
    assert set(installed) - {"pip", "setuptools"} == set(pins) | {DIST_NAME}, \
        sorted(set(installed) ^ (set(pins) | {DIST_NAME, "pip", "setuptools"}))
    assert {n: installed[n] for n in pins} == pins
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    served_env = env | {"TABWRIGHT_WORKSPACE": str(tmp_path / "image-workspace")}
    where = _run([str(python), "-c", "import core; print(core.__file__)"], env=served_env,
                 cwd=elsewhere).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's code, not this checkout's
    # A workspace of its own cannot check model.sig: without --trust the server refuses.
    refused = subprocess.run([str(venv / "bin" / "tabwright"), "serve", str(bundle)], cwd=elsewhere,
                             env=served_env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Refusing to load" in refused.stderr
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(venv / "bin" / "tabwright"), "serve", str(bundle), "--trust",
                                   "--port", str(port)], cwd=elsewhere, env=served_env,
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        health = _wait_for_health(url, server, log)
        assert health["status"] == "ok" and health["target"] == "survived"
        frame = table.frame.drop(columns=["survived"]).iloc[::9]
        assert frame.isna().any().any()  # missing values travel as null
        request = urllib.request.Request(url + "/predict",
                                         data=json.dumps({"records": _records(frame)}).encode(),
                                         headers={"content-type": "application/json"})
        body = json.loads(urllib.request.urlopen(request, timeout=60).read())
    finally:
        server.terminate()
        server.wait(timeout=60)
    model, card = load_bundle(bundle)
    expected, notices = predict_table(model, card, frame)
    assert body["predictions"] == expected["prediction"].tolist()
    assert len(body["probabilities"]) == len(frame)
    for row, (_, want) in zip(body["probabilities"], expected.iterrows()):
        assert set(row) == {"0", "1"}
        assert math.isclose(row["0"], want["proba_0"], rel_tol=1e-12)
        assert math.isclose(row["1"], want["proba_1"], rel_tol=1e-12)
    assert body["notices"] == notices
    print(f"fresh virtualenv with the bundle's requirements ({'uv' if uv else 'pip'}) and wheel: "
          f"{install_seconds:.1f} s")


def _wait_for_health(url: str, server: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server stopped: {log.read_text()[-3000:]}")
        try:
            return json.loads(urllib.request.urlopen(url + "/health", timeout=2).read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer /health within 180 s")
