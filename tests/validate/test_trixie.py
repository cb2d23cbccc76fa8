"""Debian 13's files checked by Debian 13's tools (the trixie validator tree).

This machine is Debian 12; the debian13 platform's files go to trixie's own
tools, run with systemd-nspawn in the cached tree that `./test.sh` builds
(`python3 -m wizard.validators tree build debian13`). Without the tree these
tests fail with that command (TreeMissing), never skip, and never fall back
to the host's bookworm tools.

Each tool gets: its version as it runs in the tree (trixie's, not the
host's), and a broken input it rejects. The platform differences that
wizard/platforms.py records for debian13 are each measured here against the
tree's packages.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.validate.conftest import NODE1, assert_all_ok, assert_rejected, by_tool, mutate
from wizard.commands import validation_context
from wizard.platforms import platform
from wizard.render import render
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT
from wizard.validators import (Host, Tree, TreeMissing, ValidationContext, check_apache,
                               check_cib, check_corosync, check_drbd_resource, check_fence_peer_handler,
                               check_mariadb,
                               check_sbd_defaults, check_zabbix_agent, check_zabbix_frontend,
                               check_zabbix_server, missing_tools, simulate, tools_for, tree,
                               validate_tree)

pytestmark = pytest.mark.validators

P13 = platform("debian13")


@pytest.fixture(scope="module")
def trixie() -> Tree:
    """The tree (TreeMissing, with the command that builds it, when absent)."""
    tools = tools_for("debian13")
    assert isinstance(tools, Tree)
    return tools


@pytest.fixture
def spec13(spec, trixie):
    spec.platform = "debian13"
    spec.zabbix.version = "7.0"
    return spec


@pytest.fixture
def ctx13(spec13):
    return validation_context(spec13)


def _files(spec, secrets=None) -> dict:
    return {f.kind: f for f in render(spec, secrets)["zbx-node1"].values()}


def _sh(trixie: Tree, script: str, timeout: float = 60):
    return trixie.run(["/bin/sh", "-c", script], timeout=timeout)


# ---- the tree is trixie, the host is not ------------------------------------------

def test_the_tree_is_trixie_and_holds_every_validator(trixie):
    res = _sh(trixie, ". /etc/os-release && echo $VERSION_CODENAME $VERSION_ID")
    assert res.rc == 0, res.output
    assert res.stdout.split() == ["trixie", "13"]
    assert missing_tools("debian13") == {}
    # the host is what debian12 is checked with: this machine is bookworm
    assert "VERSION_CODENAME=bookworm" in open("/etc/os-release").read()
    assert tree.host_platform() == "debian12"
    assert tools_for("debian12") == Host("debian12")


def test_a_missing_tree_fails_with_the_build_command_and_no_host_tool_runs(spec13, secrets, monkeypatch, tmp_path):
    monkeypatch.setattr(tree, "CACHE_DIR", tmp_path / "no-trees-here")
    tools_for.cache_clear()
    try:
        with pytest.raises(TreeMissing, match=r"python3 -m wizard\.validators tree build debian13"):
            tools_for("debian13")
        verdicts = validate_tree(render(spec13, secrets), validation_context(spec13))
    finally:
        tools_for.cache_clear()
    tooled = [v for v in verdicts if v.tool == "debian13 tools"]
    assert tooled, [v.line() for v in verdicts]
    for v in tooled:
        assert not v.ok and "tree build debian13" in v.skipped_reason
    # only Python's own checks ran: no verdict names a tool
    assert {v.tool for v in verdicts} <= {"debian13 tools", "python", "python:identical"}


# ---- the debian13 example answers, every file, trixie's tools ---------------------------

def _sbd(spec):
    spec.fencing.method = "sbd"
    spec.fencing.ipmi = []
    spec.fencing.sbd_device = "/dev/disk/by-id/scsi-shared-sbd"


@pytest.mark.parametrize("variant", ["example", "sbd"])
def test_debian13_files_pass_trixies_validators(spec13, secrets, variant):
    if variant == "sbd":
        _sbd(spec13)
    rendered = render(spec13, secrets)
    verdicts = validate_tree(rendered, validation_context(spec13))
    assert_all_ok(verdicts)
    assert {(v.node, v.path) for v in verdicts} == {(n, p) for n, files in rendered.items() for p in files}
    tools = {v.tool for v in verdicts}
    # zabbix_server -T exists from 7.0 on: the host's 6.0 would have given "-R"
    assert {"drbdadm dump", "drbdadm -d up", "corosync -t", "crm_verify", "crm configure verify",
            "crm_simulate", "apache2ctl -t", "mariadbd --help --verbose", "zabbix_server -T",
            "php -l", "zabbix_agentd -t"} <= tools
    if variant == "sbd":
        assert "sbd defaults keys" not in tools and "sh -n" in tools


def test_debian13_cib_fails_over_in_trixies_simulation(spec13):
    result = simulate(_files(spec13)["cib"].text, validation_context(spec13))
    assert result.problems == []
    expected = {"both-online": "zbx-node1", "preferred-standby": "zbx-node2",
                "preferred-failed": "zbx-node2", "preferred-outdated": "zbx-node2"}
    assert {n: s.expected_node for n, s in result.scenarios.items()} == expected
    for name, s in result.scenarios.items():
        assert s.ok, (name, s.problems)
        assert s.placement["zabbix-server"] == [(expected[name], "Started")]


# ---- per tool: trixie's version ran, and it says no to a broken file ----------------------

def _version(trixie: Tree, argv: list[str]) -> str:
    res = trixie.run([trixie.find(argv[0]), *argv[1:]])
    return res.output


def test_crm_verify_is_pacemakers_3_and_rejects_a_broken_cib(trixie, ctx13, spec13):
    assert re.search(r"^Pacemaker 3\.0\.", _version(trixie, ["crm_verify", "--version"]), re.M)
    text = _files(spec13)["cib"].text
    broken = mutate(text, 'with-rsc="drbd-r0-clone"', 'with-rsc="drbd-r9-clone"')
    assert_rejected(check_cib(broken, ctx13, NODE1), "crm_verify", "drbd-r9-clone")


def test_drbdadm_is_trixies_and_rejects_a_broken_resource(trixie, ctx13, spec13):
    out = _version(trixie, ["drbdadm", "--version"])
    assert "DRBDADM_VERSION=9." in out
    res = _sh(trixie, "dpkg-query -W -f '${Version}' drbd-utils")
    assert res.stdout.endswith(".1"), res.stdout        # 9.22.0-1.1 (trixie); bookworm has 9.22.0-1
    files = _files(spec13)
    broken = mutate(files["drbd-resource"].text, "/dev/drbd0;", "/dev/drbd0")
    assert_rejected(check_drbd_resource(broken, ctx13, NODE1, global_common=files["drbd-global"].text),
                    "drbdadm dump", "Parse error")


def test_corosync_is_trixies_and_rejects_a_broken_conf(trixie, ctx13, spec13):
    assert "version '3.1.9'" in _version(trixie, ["corosync", "-v"])
    text = _files(spec13)["corosync"].text
    broken = mutate(text, "transport: knet", "transport: knot")
    assert_rejected(check_corosync(broken, ctx13, NODE1), "corosync -t", "Invalid transport type")


def test_apache2_is_trixies_and_rejects_a_broken_vhost(trixie, ctx13, spec13):
    res = trixie.run([trixie.find("apache2ctl"), "-v"])
    assert re.search(r"Apache/2\.4\.\d+ \(Debian\)", res.output), res.output
    # the same upstream 2.4.71 as bookworm's: the package that ran is trixie's build
    owner = trixie.run(["dpkg", "-S", "/usr/sbin/apache2"]).stdout.split(":")[0]
    version = trixie.run(["dpkg-query", "-W", "-f", "${Version}", owner]).stdout
    assert re.search(r"~deb13u\d+$", version), (owner, version)
    text = _files(spec13)["apache"].text
    assert_rejected(check_apache(mutate(text, "DocumentRoot", "DocumentRooot"), ctx13, NODE1),
                    "apache2ctl -t", "DocumentRooot")


def test_trixies_mod_php_takes_the_vhosts_php_block(ctx13, spec13):
    """<IfModule mod_php.c> must match trixie's PHP 8.4 module, or the php_value
    settings (timezone, limits) would silently not apply: a directive Apache
    does not know inside the block is rejected only when the block is read."""
    text = _files(spec13)["apache"].text
    broken = mutate(text, "php_value max_execution_time 300", "NoSuchDirective 300")
    assert_rejected(check_apache(broken, ctx13, NODE1), "apache2ctl -t", "NoSuchDirective")


def test_mariadbd_is_11_8_and_rejects_what_11_removed(trixie, ctx13, spec13):
    assert re.search(r"Ver 11\.8\.\d+-MariaDB", _version(trixie, ["mariadbd", "--version"]))
    text = _files(spec13)["mariadb"].text
    # innodb_defragment works in 10.11 (bookworm: no message), 11.8 only keeps the name
    broken = text.rstrip("\n") + "\ninnodb_defragment = 1\n"
    assert_rejected(check_mariadb(broken, ctx13, NODE1), "mariadbd --help --verbose",
                    "'innodb-defragment' was removed")
    host = check_mariadb(broken, ValidationContext(("zbx-node1", "zbx-node2"), "zbx-node1"), NODE1)
    assert by_tool(host, "mariadbd --help --verbose").ok


def test_zabbix_server_is_7_0_and_rejects_a_broken_conf(trixie, ctx13, spec13, secrets):
    assert re.search(r"\(Zabbix\) 7\.0\.\d+", _version(trixie, ["zabbix_server", "-V"]))
    files = _files(spec13, secrets)
    text = files["zabbix-server"].text
    broken = mutate(text, "StartPollers=", "StartPolers=")
    v = assert_rejected(check_zabbix_server(broken, ctx13, NODE1, secrets=files["zabbix-server-secrets"].text),
                        "zabbix_server -T", "StartPolers")
    assert v.tool == "zabbix_server -T"


def test_php_is_8_4_and_rejects_a_broken_frontend_conf(trixie, ctx13, spec13, secrets):
    assert re.search(r"^PHP 8\.4\.", _version(trixie, ["php", "--version"]), re.M)
    text = _files(spec13, secrets)["zabbix-frontend"].text
    broken = mutate(text, "$DB['TYPE']", "$DB['TYPE'] ==== ")
    assert_rejected(check_zabbix_frontend(broken, ctx13, NODE1), "php -l", "syntax error")


def test_zabbix_agentd_is_7_0_and_rejects_a_broken_conf(trixie, ctx13, spec13):
    assert re.search(r"\(Zabbix\) 7\.0\.\d+", _version(trixie, ["zabbix_agentd", "-V"]))
    text = _files(spec13)["zabbix-agent"].text
    broken = text.rstrip("\n") + "\nStartAgentz=3\n"
    assert_rejected(check_zabbix_agent(broken, ctx13, "zbx-node1"), "zabbix_agentd -t", "StartAgentz")


def test_sbd_keys_come_from_trixies_sbd(trixie, ctx13, spec13, secrets):
    _sbd(spec13)
    text = next(f.text for f in render(spec13, secrets)["zbx-node1"].values() if f.kind == "sbd")
    assert (trixie.root / "etc/default/sbd").is_file()
    assert_rejected(check_sbd_defaults(text + "SBD_NO_SUCH_KEY=1\n", ctx13, NODE1), "python", "SBD_NO_SUCH_KEY")


# ---- what debian12 and debian13 really differ in (platforms.py), measured -------------------

def test_cib_schema_is_the_newest_trixies_pacemaker_validates(trixie):
    res = trixie.run([trixie.find("cibadmin"), "--empty"])
    assert f'validate-with="{P13.cib_schema}"' in res.stdout, res.stdout
    host = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True).stdout
    assert f'validate-with="{platform("debian12").cib_schema}"' in host


def _shipped(trixie: Tree, conf: str) -> dict[str, str]:
    out = {}
    for line in trixie.file(conf).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def _dpkg_L(trixie: Tree, package: str) -> set[str]:
    res = trixie.run(["dpkg", "-L", package])
    assert res.rc == 0, res.output
    return set(res.stdout.split())


def test_debian13_zabbix_paths_are_trixies(trixie):
    P = P13.paths
    shipped = _shipped(trixie, "/usr/share/zabbix-server-mysql/zabbix_server.conf")
    assert shipped["LogFile"] == P.zabbix_server_log
    assert shipped["PidFile"] == P.zabbix_server_pid
    assert shipped["FpingLocation"] == P.fping
    assert shipped["AlertScriptsPath"].rstrip("/") == P.zabbix_alert_scripts
    server_files = _dpkg_L(trixie, "zabbix-server-mysql")
    assert {__import__("os").path.dirname(P.zabbix_server_log), P.zabbix_alert_scripts,
            P.zabbix_server_bin, *P.zabbix_sql} <= server_files
    assert trixie.file(P.fping).is_file()
    assert f"d {P.zabbix_socket_dir} " in trixie.file("/usr/lib/tmpfiles.d/zabbix-server.conf").read_text()
    agent = _shipped(trixie, "/usr/share/zabbix-agent/zabbix_agentd.conf")
    assert (agent["PidFile"], agent["LogFile"]) == (P.zabbix_agent_pid, P.zabbix_agent_log)
    assert agent["Include"] == f"{P.zabbix_agent_include_dir}/*.conf"
    # Debian's frontend reads its config from one fixed file, the one render writes
    source = trixie.file(P.zabbix_frontend_root + "/include/classes/core/CConfigFile.php").read_text()
    assert f"const CONFIG_FILE_PATH = '{P.zabbix_frontend_conf}';" in source
    for program in (P.mysqld_safe, P.mariadbd, P.mysql_client, P.setpriv):
        assert trixie.file(program).exists(), program
    assert P.mysql_log_dir not in _dpkg_L(trixie, "mariadb-server")


def test_debian13_fence_agents_are_split_packages(trixie):
    """trixie's fence-agents is a transitional package for fence-agents-all:
    the table names the one agent a node needs, and it provides the agent."""
    res = trixie.run(["apt-cache", "show", "fence-agents"])
    assert re.search(r"^Depends: fence-agents-all$", res.stdout, re.M), res.stdout[:500]
    assert P13.packages_fencing["ipmi"][0] == "fence-agents-ipmilan"
    assert P13.packages_fencing["sbd"][0] == "fence-agents-sbd"
    for agent, package in (("fence_ipmilan", "fence-agents-ipmilan"), ("fence_sbd", "fence-agents-sbd")):
        owner = trixie.run(["dpkg", "-S", trixie.find(agent)])
        assert owner.stdout.split(":")[0] == package, owner.output
    assert trixie.run(["dpkg", "-s", "fence-agents"]).rc != 0   # not installed, not needed
    # debian12 keeps the one package
    assert platform("debian12").packages_fencing["ipmi"][0] == "fence-agents"


def test_trixies_drbdadm_still_parses_the_84_config_as_the_in_tree_module_needs(trixie, spec13):
    """drbd-utils 9 on trixie with the kernel's in-tree DRBD 8.4 (linux-image
    6.12.117+deb13: drbd.ko 8.4.11, measured with modinfo): drbdadm execs its
    8.4 helper, which reads our 8.4-style file (fencing in disk{}, which the
    9 parser refuses) and, as node1, prints the drbdsetup-84 commands."""
    import tempfile

    from wizard.validators.core import write

    assert trixie.find("drbdadm-84") == "/lib/drbd/drbdadm-84"
    files = _files(spec13)
    with tempfile.TemporaryDirectory(prefix="zbxha-drbd84-") as tmp:
        write(tmp, "drbd.d/global_common.conf", files["drbd-global"].text)
        write(tmp, "drbd.d/r0.res", files["drbd-resource"].text)
        conf = write(tmp, "drbd.conf", 'include "drbd.d/global_common.conf";\ninclude "drbd.d/r0.res";\n')
        res = trixie.run([trixie.find("drbdadm"), "-c", conf, "-d", "up", "r0"],
                         env={"DRBD_DRIVER_VERSION_OVERRIDE": "8.4.11", "__DRBD_NODE__": NODE1})
    assert res.rc == 0, res.output
    assert re.search(r"^drbdsetup-84 attach 0 /dev/sda6 /dev/sda5 0 .*--fencing=resource-and-stonith", res.stdout, re.M), res.stdout
    assert re.search(r"^drbdsetup-84 connect r0 ipv4:172\.16\.2\.1:7788 ipv4:172\.16\.2\.2:7788", res.stdout, re.M), res.stdout


_DB_SCRIPT = r"""
set -e
T=$1
shift
mariadb-install-db --no-defaults --datadir=$T/dd --user=root --auth-root-authentication-method=socket >$T/install.log 2>&1
mariadbd --no-defaults --datadir=$T/dd --socket=$T/m.sock --skip-networking --user=root \
    --pid-file=$T/m.pid --log-error=$T/m.err &
i=0; while [ ! -S $T/m.sock ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
mariadb -S $T/m.sock -e "select version(); create database zabbix character set utf8mb4 collate utf8mb4_bin"
zcat "$@" | mariadb -S $T/m.sock zabbix
printf 'LogType=console\nPidFile=%s/z.pid\nSocketDir=%s\nDBName=zabbix\nDBUser=root\nDBSocket=%s/m.sock\nAllowRoot=1\nListenIP=127.0.0.1\n' \
    $T $T $T > $T/z.conf
echo "== zabbix_server without AllowUnsupportedDBVersions"
timeout 8 zabbix_server -f -c $T/z.conf 2>&1 | grep -v ' started \[\| thread started ' || true
mariadb-admin -S $T/m.sock shutdown
"""


def test_zabbix_7_0_starts_on_trixies_mariadb_without_allow_unsupported(trixie, spec13):
    """Measured, not guessed: trixie's zabbix_server 7.0 against trixie's own
    MariaDB 11.8, both started for real in the tree (throw-away datadir, the
    schema imported from the SQL files the platform table names), without
    AllowUnsupportedDBVersions: it checks the DB version and runs on.
    (6.0.14 against bookworm's 10.11 stops at that check.)"""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="zbxha-dbcheck-") as tmp:
        res = trixie.run(["/bin/sh", "-c", _DB_SCRIPT, "sh", tmp, *P13.paths.zabbix_sql], timeout=300)
    out = res.output
    assert res.rc == 0, out[-3000:]
    assert re.search(r"^11\.8\.\d+-MariaDB", out, re.M), out[-3000:]
    assert "Zabbix 7.0." in out and "current database version" in out, out[-3000:]
    assert "HA manager started in active mode" in out, out[-3000:]
    assert not re.search(r"[Uu]nsupported (DB|MariaDB)", out), out[-3000:]
    assert "AllowUnsupportedDBVersions" not in _files(spec13)["zabbix-server"].text


def test_fence_peer_wrapper_makes_trixies_handler_read_pacemaker_3s_node_state(spec13, ctx13):
    """drbd-utils 9.22's crm-fence-peer.sh, run by trixie's bash with trixie's cibadmin (Pacemaker
    3.0) on the rendered CIB whose peer is cleanly down as Pacemaker 3 writes it: through the
    wrapper it says "fenced" at once; run as it is (the stock handler), it polls out its timeout
    and says "unknown". With stonith disabled (no fence device) the stock one says "unreachable"."""
    for method in ("ipmi", "none"):
        if method == "none":
            spec13.fencing.method, spec13.fencing.ipmi = "none", []
            spec13.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
        files = _files(spec13)
        wrapper, cib = files["drbd-fence-peer"], files["cib"].text
        assert_all_ok(check_fence_peer_handler(wrapper.text, ctx13, NODE1, wrapper.path, cib=cib))
        stock = "#!/bin/bash\nexport -f cibadmin\nexec /usr/lib/drbd/crm-fence-peer.sh \"$@\"\n"
        said = "unknown" if method == "ipmi" else "unreachable"
        assert_rejected(check_fence_peer_handler(stock, ctx13, NODE1, wrapper.path, cib=cib),
                        "crm-fence-peer.sh", f"took zbx-node2 for {said}, not fenced")
    broken = mutate(wrapper.text, "return \"${PIPESTATUS[0]}\"\n}", "return \"${PIPESTATUS[0]}\"\n")
    assert_rejected(check_fence_peer_handler(broken, ctx13, NODE1, wrapper.path), "bash -n", "syntax error")


_TLS_SCRIPT = r"""
set -e
T=$1
mariadb-install-db --no-defaults --datadir=$T/dd --user=root --auth-root-authentication-method=socket >$T/install.log 2>&1
mariadbd --no-defaults --datadir=$T/dd --socket=$T/m.sock --skip-networking --user=root \
    --pid-file=$T/m.pid --log-error=$T/m.err &
i=0; while [ ! -S $T/m.sock ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
chmod 711 $T
mariadb -S $T/m.sock -e "CREATE USER nobody@localhost IDENTIFIED VIA unix_socket"
for client in wrapper stock; do
    echo "$client: $($T/$client -S $T/m.sock --user=nobody -N -e "SHOW SESSION STATUS LIKE 'Ssl_cipher'")"
done
mariadb-admin -S $T/m.sock shutdown
"""


def test_the_monitor_client_keeps_tls_off_the_local_socket_on_trixies_mariadb(trixie, spec13, monkeypatch):
    """MariaDB 11.8's client negotiates TLS even on the local socket (measured); the deep
    monitor's client, run as its unprivileged user against trixie's own mariadbd, does not."""
    import tempfile

    from wizard import render as render_module

    monkeypatch.setattr(render_module, "MONITOR_DB_USER", "nobody")    # exists in the tree
    monkeypatch.setattr(render_module, "MONITOR_OS_GROUP", "nogroup")
    wrapper = _files(spec13)["mysql-monitor-client"].text
    with tempfile.TemporaryDirectory(prefix="zbxha-tls-") as tmp:
        for name, text in (("wrapper", wrapper), ("stock", mutate(wrapper, " --skip-ssl ", " "))):
            path = f"{tmp}/{name}"
            with open(path, "w") as fh:
                fh.write(text)
            subprocess.run(["chmod", "755", path], check=True)
        res = trixie.run(["/bin/sh", "-c", _TLS_SCRIPT, "sh", tmp], timeout=300)
    out = res.output
    assert res.rc == 0, out[-3000:]
    assert re.search(r"^wrapper: Ssl_cipher\s*$", out, re.M), out[-3000:]
    assert re.search(r"^stock: Ssl_cipher\s+TLS_", out, re.M), out[-3000:]
