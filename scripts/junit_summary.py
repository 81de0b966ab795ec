"""Print one closing line from pytest's JUnit report: 'tests: N passed, N failed, N skipped'.

`make test` prints more after pytest (the dependency audit), so this line repeats pytest's
result last, where a reader of the CI log, or a tool reading its closing lines, looks.
Exits 1 if the report is missing or counts no executed test.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(path: str) -> int:
    report = Path(path)
    if not report.exists():
        print(f"tests: no JUnit report at {report}", file=sys.stderr)
        return 1
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    passed = total - failed - skipped
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if passed + failed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "test-output/junit.xml"))
