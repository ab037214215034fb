#!/usr/bin/env bash
# `alongside.sh NAME 'BACKGROUND COMMAND' FOREGROUND COMMAND…`: run two parts of `make test` at once.
#
# The browser tests spend most of their time waiting (for Chromium, the server, the network
# stack), so `make test` runs them beside the other steps instead of after them. The background
# command's output goes to a log file that is printed, whole and unmixed, once both have ended.
# The exit code is the foreground's if it failed, else the background's: a failure in either
# fails the whole, and both always run to the end (no half-stopped server or browser).
set -uo pipefail
name=$1
background=$2
shift 2
log=$(mktemp "${TMPDIR:-/tmp}/salesflow-$(tr -c 'a-zA-Z0-9' '-' <<<"$name" | head -c 40).XXXXXX")
echo "== $name: started in the background; its output follows when the other steps end"
# setsid: the background half is a process group of its own (server and browser included),
# stopped as a whole when this script is interrupted or terminated.
BACKGROUND=$background setsid bash -c 's=$SECONDS; bash -c "$BACKGROUND"; rc=$?; echo "== took $((SECONDS - s)) s"; exit $rc' >"$log" 2>&1 </dev/null &
pid=$!
trap 'kill -TERM -- "-$pid" 2>/dev/null; wait "$pid"; cat "$log"; rm -f "$log"; echo "INTERRUPTED $name" >&2; exit 130' INT TERM
"$@"
fg_rc=$?
if kill -0 "$pid" 2>/dev/null; then
  echo "== waiting for $name"
fi
wait "$pid"
bg_rc=$?
trap - INT TERM
echo "== $name (ran in the background):"
cat "$log"
rm -f "$log"
if [ "$bg_rc" -ne 0 ]; then
  echo "FAIL $name (exit code $bg_rc)" >&2
fi
if [ "$fg_rc" -ne 0 ]; then
  exit "$fg_rc"
fi
exit "$bg_rc"
