"""Audit the installed environment for known vulnerabilities with pip-audit.

Run with the virtualenv's interpreter (``.venv/bin/python scripts/audit.py``): pip-audit audits
the environment of the interpreter that runs it.

Outcomes and exit status:

- 0: no known vulnerability, or every finding is listed in ``.ci/audit-ignore`` with a reason.
- 0 with a WARNING: the advisory service could not be reached (or answered for no package),
  so nothing could be checked. The build must not depend on a third-party service being up;
  the warning says plainly that the audit did not happen.
- 1: a vulnerability not listed in ``.ci/audit-ignore``, or pip-audit failed for a reason
  other than the network.
- 2: ``.ci/audit-ignore`` is malformed (an entry without a reason).

``.ci/audit-ignore`` holds one advisory per line: its ID (PYSEC-..., GHSA-..., CVE-...), then
why it is acceptable. ``#`` starts a comment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = REPO_ROOT / ".ci" / "audit-ignore"
TIMEOUT_SECONDS = 600

# Phrases in pip-audit's error output that mean "could not reach the advisory service".
NETWORK_FAILURES = (
    "could not connect",
    "connectionerror",
    "connecttimeout",
    "readtimeout",
    "max retries exceeded",
    "name resolution",
    "name or service not known",
    "connection refused",
    "connection reset",
    "serviceerror",
    "service unavailable",
    "bad gateway",
    "gateway timeout",
)


def read_ignores(path: Path) -> dict[str, str]:
    """Advisory ID -> reason, from ``path``; exits with status 2 on an entry without a reason."""
    ignores: dict[str, str] = {}
    if not path.exists():
        return ignores
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, *rest = line.split(None, 1)
        reason = rest[0] if rest else ""
        if not reason.strip():
            print(
                f"audit: {path.name} line {number} must be '<advisory ID> <reason>', got {raw!r}. "
                "Say why the advisory does not affect tabwright, or remove the line.",
                file=sys.stderr,
            )
            sys.exit(2)
        ignores[vuln_id] = reason.strip()
    return ignores


def run_pip_audit(ignores: dict[str, str], report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "pip_audit",
        "--skip-editable",            # tabwright itself is not on PyPI
        "--progress-spinner", "off",
        "--desc", "off",
        "--format", "json",
        "--output", str(report),
    ]
    for vuln_id in ignores:
        command += ["--ignore-vuln", vuln_id]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL
    )


def summarise(report: dict) -> tuple[list[tuple[str, str, dict]], list[dict], int]:
    """(findings, skipped dependencies, number audited) from pip-audit's JSON report."""
    findings, skipped, audited = [], [], 0
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            if "editable" not in dep["skip_reason"]:
                skipped.append(dep)
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            findings.append((dep["name"], dep["version"], vuln))
    return findings, skipped, audited


def main() -> int:
    ignores = read_ignores(IGNORE_FILE)
    for vuln_id, reason in ignores.items():
        print(f"audit: ignoring {vuln_id}: {reason}")

    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "audit.json"
        try:
            result = run_pip_audit(ignores, report_path)
        except subprocess.TimeoutExpired:
            print(f"audit: WARNING: pip-audit did not finish in {TIMEOUT_SECONDS} s; "
                  "the advisory service is too slow or unreachable. NOT AUDITED.")
            return 0
        report = json.loads(report_path.read_text()) if report_path.exists() else None

    if report is None:
        output = (result.stderr + result.stdout).strip()
        if any(phrase in output.lower() for phrase in NETWORK_FAILURES):
            print("audit: WARNING: the vulnerability advisory service is unreachable; "
                  "NOT AUDITED.\n" + output[-2000:])
            return 0
        print(f"audit: pip-audit failed (exit {result.returncode}):\n{output[-4000:]}")
        return 1

    findings, skipped, audited = summarise(report)
    if findings:
        print(f"audit: {len(findings)} known vulnerabilities in installed packages:")
        for name, version, vuln in findings:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
            aliases = ", ".join(vuln.get("aliases", []))
            print(f"  {name} {version}: {vuln['id']} ({aliases}) fixed in: {fixes}")
        print("audit: upgrade the pin in pyproject.toml, or add '<ID> <reason>' to "
              ".ci/audit-ignore if the advisory cannot affect tabwright.")
        return 1
    if audited == 0 and skipped:
        print(f"audit: WARNING: the advisory service answered for none of the {len(skipped)} "
              f"installed packages ({skipped[0]['skip_reason']}). It is unreachable from "
              "this network; NOT AUDITED.")
        return 0
    if skipped:
        names = ", ".join(f"{dep['name']}" for dep in skipped)
        print(f"audit: could not audit {len(skipped)} packages: {names}")
    print(f"audit: no known vulnerabilities in {audited} audited packages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
