#!/usr/bin/env bash
# `skip_or_fail.sh MESSAGE`: a required part of `make test` cannot run here.
# Under CI=true that is a failure; on a developer machine the step is skipped, loudly.
case "${CI:-}" in
  true | TRUE | True | 1 | yes)
    echo "FAIL: $1 (required when CI=true)" >&2
    exit 1
    ;;
  *)
    echo "SKIPPED: $1"
    exit 0
    ;;
esac
