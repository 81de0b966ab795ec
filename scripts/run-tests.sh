#!/usr/bin/env bash
# Run pytest for `make test`, with a JUnit report in test-output/ for the closing summary.
# pytest exits 5 when it collected no tests; here that is a failure with a plain message,
# never something a caller could mistake for a pass.
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${VENV:-.venv}/bin/python"
mkdir -p test-output
rm -f test-output/junit.xml

# Two xdist workers on two cores: one BLAS/OpenMP thread each, or they fight for the cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"

"$PY" -m pytest --junitxml=test-output/junit.xml "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "tests: pytest collected no tests (exit 5). Check testpaths and the -k/-m filters; failing." >&2
    exit 1
fi
exit "$status"
