#!/usr/bin/env bash
# `pytest_suite.sh NAME pytest ARGS…`: run one test suite of `make test`.
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent pass.
set -uo pipefail
name=$1
shift
echo "== $name: $*"
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "FAIL $name: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
