#!/usr/bin/env bash
# Runs the zabbix-ha wizard from this checkout. First run creates a virtualenv
# (.venv) with the Python dependencies. With no servers given the wizard
# offers the local two-node lab as a demo. Arguments go to `zabbix-ha`.
set -euo pipefail
here="$(dirname "$(readlink -f "$0")")"
if [ ! -x "$here/.venv/bin/python" ]; then
    python3 -m venv "$here/.venv" || {
        echo "run.sh: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
        exit 2
    }
fi
stamp="$here/.venv/.wizard-$(sha256sum "$here/pyproject.toml" | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    "$here/.venv/bin/pip" install -q --disable-pip-version-check -e "$here"
    touch "$stamp"
fi
exec "$here/.venv/bin/zabbix-ha" "$@"
