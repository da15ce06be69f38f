#!/usr/bin/env bash
# Prepare the peer renderers for the PDF benchmark: the Debian libraries
# WeasyPrint loads at run time, and a virtualenv with the pinned Typst and
# WeasyPrint from requirements.txt.
#
#   tests/bench/peers/setup.sh [VENV_DIR]     (default: target/bench-venv)
#
# A second run with everything in place changes nothing and takes a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
venv="${1:-$root/target/bench-venv}"
requirements="$here/requirements.txt"
python="${PYTHON:-python3}"

fail() {
    echo "setup: error: $*" >&2
    exit 1
}

# WeasyPrint reaches Pango, HarfBuzz (with its subsetter, which it prefers
# over fontTools for embedding font subsets) and Fontconfig through cffi
# at import time, so pip cannot bring them: they come from Debian.
debian_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1)
missing=()
for package in "${debian_packages[@]}"; do
    if ! dpkg -s "$package" >/dev/null 2>&1; then
        missing+=("$package")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "setup: Debian libraries present (${debian_packages[*]})"
else
    echo "setup: installing Debian libraries: ${missing[*]}"
    command -v apt-get >/dev/null ||
        fail "apt-get not found; install ${missing[*]} (or your system's Pango, HarfBuzz-subset and Fontconfig) by hand, then rerun"
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null ||
            fail "installing ${missing[*]} needs root; run this script as root or install them with apt-get, then rerun"
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq ||
        fail "apt-get update failed (see above); check the network and the apt sources, then rerun"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        fail "apt-get install ${missing[*]} failed (see above); install them by hand, then rerun"
fi

command -v "$python" >/dev/null ||
    fail "$python not found; install Python 3.10 or later, or point PYTHON at one, then rerun"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    fail "$("$python" --version 2>&1) is too old for WeasyPrint 70; point PYTHON at Python 3.10 or later, then rerun"

if [[ -x "$venv/bin/python" ]]; then
    echo "setup: virtualenv exists at $venv"
else
    echo "setup: creating virtualenv at $venv"
    "$python" -m venv "$venv" ||
        fail "could not create a virtualenv at $venv; on Debian install python3-venv, or remove a half-made $venv, then rerun"
fi

# Exit status 0 when every pinned package is installed at its pinned version.
pins_installed() {
    "$venv/bin/python" - "$requirements" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, pinned = line.split("==")
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

if pins_installed; then
    echo "setup: pinned packages already installed"
else
    echo "setup: installing pinned packages from $requirements"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" ||
        fail "pip install -r $requirements failed (see above); check that PyPI is reachable, or delete $venv and rerun"
    pins_installed || fail "the virtualenv at $venv still differs from $requirements after installing; delete $venv and rerun"
fi

"$venv/bin/python" -c 'import typst, weasyprint' ||
    fail "typst or weasyprint does not import (see above); a missing shared library means the Debian step above did not take"
echo "setup: ready; run: $venv/bin/python $here/peers.py DOCUMENT.json --seconds S"
