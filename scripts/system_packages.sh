#!/usr/bin/env bash
# Install the Debian packages that `make test` needs when they are missing and we may:
# chromium (browser tests), fonts-noto-cjk (Chinese text in screenshots and PDFs), gettext
# (translations), libpango (WeasyPrint renders the quote and contract PDFs with it).
# Without root or apt-get it only says what is missing; the steps that need a package then
# skip (or fail under CI=true) on their own.
set -euo pipefail

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "note: not a Debian system; install these yourself if the checks need them: $*"
  exit 0
fi
missing=()
for pkg in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq "${missing[@]}"; then
    exit 0
  fi
  echo "warning: apt-get could not install ${missing[*]}" >&2
else
  echo "note: missing system packages: ${missing[*]} (install with: sudo apt-get install ${missing[*]})"
fi
exit 0
