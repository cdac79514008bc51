#!/usr/bin/env bash
# Install the Debian packages the tests need, where they are missing: Chromium (browser tests) and PostgreSQL
# (registry tests). Nothing else is installed, and nothing is downloaded outside the package manager.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! scripts/pg.sh bindir >/dev/null 2>&1; then missing+=(postgresql); fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages the tests need: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt_get=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt_get=(sudo apt-get)
else
  echo "The tests need ${missing[*]}; install them (apt-get install ${missing[*]}) and run make test again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt_get[@]}" update -qq
"${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
