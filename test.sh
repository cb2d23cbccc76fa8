#!/usr/bin/env bash
# Runs every test. Installs what the tests need first: the Debian packages
# listed in .ci/packages/*.txt (the real validators, the lab's tools) and the
# Python dependencies in a virtualenv (.venv). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=CI "$0" "$@"
fi

packages=$(sed -e 's/#.*//' .ci/packages/*.txt | tr -s ' \n\t' ' ')
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "test.sh: installing Debian packages: $missing"
    # Keep package scripts from starting mariadb/apache/corosync on this machine.
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
    [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -e "$stamp" ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
    touch "$stamp"
fi

# Debian 13's files are checked by trixie's own tools, in a cached root tree
# (wizard/validators/tree.py): built here once when missing (debootstrap from
# deb.debian.org, ~2-5 min, ~1 GB), reused while its recipe is unchanged.
.venv/bin/python -m wizard.validators tree build debian13

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
    exit 1
fi
exit "$rc"
