"""The end of an install: Zabbix answers through the VIP, and the applied answers are kept.

The frontend must serve its login page (not the set-up wizard, which means
it did not find its configuration), and the API must log in as Admin with
the password from the secrets file. The password travels on curl's stdin.
The answers (and, apart, 0600, the secrets) are kept on both nodes in
/etc/zabbix-ha/ as the install's FIRST step (state_steps), so a resumed
install and preflight recognise half-made state as this cluster's; beside
them the checksums of the files this install puts on the node
(files.sha256: `sha256sum -c /etc/zabbix-ha/files.sha256` shows a file
changed by hand since). wizard.applied reads them back.
"""

from __future__ import annotations

import hashlib
import json

from wizard.applied import ANSWERS, CHECKSUMS, SECRETS  # noqa: F401 (status and failover import them here)
from wizard.install.files import out_of_date
from wizard.install.step import Context, Step, StepFailed, wait_for

FRONTEND_TIMEOUT = 180


def _url(ctx: Context, path: str = "") -> str:
    vip = ctx.spec.services.vip
    host = f"[{vip}]" if ":" in vip else vip
    return f"http://{host}/{path}"


def api_call(ctx: Context, method: str, params, auth: str | None = None) -> dict:
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    if auth:
        body["auth"] = auth
    res = ctx.run(["curl", "-sS", "--max-time", "30", "-H", "Content-Type: application/json-rpc",
                   "--data-binary", "@-", _url(ctx, "api_jsonrpc.php")], input=json.dumps(body), check=False,
                  timeout=40)
    try:
        return json.loads(res.stdout)
    except ValueError:
        return {"error": {"data": (res.stdout or res.stderr).strip()[:300]}}


def _verify_frontend(ctx: Context) -> None:
    def probe():
        res = ctx.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "20", "-w", "%{http_code} %{redirect_url}",
                       _url(ctx)], check=False, timeout=30)
        answer = res.stdout.strip()
        if answer == "200":
            return True
        return f"frontend answered {answer or res.stderr.strip()[:100]}"
    wait_for(ctx, f"the frontend at {_url(ctx)} serving its login page", probe, timeout=FRONTEND_TIMEOUT,
             interval=3, fix="a redirect to setup.php means the frontend did not find its configuration file; "
                             "see /var/log/apache2/zabbix-ha-error.log on the active node")


def _verify_api(ctx: Context) -> None:
    version = api_call(ctx, "apiinfo.version", [])
    if "result" not in version:
        raise StepFailed(f"the Zabbix API at {_url(ctx, 'api_jsonrpc.php')} did not answer apiinfo.version: "
                         f"{version.get('error')}", "see /var/log/apache2/zabbix-ha-error.log on the active node")
    login = api_call(ctx, "user.login", {"username": "Admin",
                                         "password": ctx.secrets.zabbix_admin_password.reveal()})
    token = login.get("result")
    if not token:
        raise StepFailed(f"the Zabbix API refused Admin with the password from the secrets file: {login.get('error')}",
                         "run the install again (it sets the password); check secrets.zabbix_admin_password")
    api_call(ctx, "user.logout", [], auth=token)
    ctx.say(f"Zabbix {version['result']} answers at {_url(ctx)}; Admin logs in with the chosen password")


def checksums(files) -> str:
    """`sha256sum -c` input for these rendered files (two spaces: text mode), by path."""
    return "".join(f"{hashlib.sha256(f.text.encode()).hexdigest()}  {f.path}\n"
                   for f in sorted(files, key=lambda f: f.path))


def _state_files(ctx: Context) -> list:
    from wizard.answers import dump_answers, dump_secrets
    from wizard.render import RenderedFile

    d = ctx.profile.paths.state_dir
    # The checksums are root's alone: a digest of a file holding a password is a
    # way to guess that password offline.
    return [RenderedFile(f"{d}/{ANSWERS}", dump_answers(ctx.spec), "applied-answers", 0o640),
            RenderedFile(f"{d}/{SECRETS}", dump_secrets(ctx.secrets), "applied-secrets", 0o600, secret=True),
            RenderedFile(f"{d}/{CHECKSUMS}", checksums(ctx.tree[ctx.node].values()), "applied-checksums", 0o600)]


def _state_in_place(ctx: Context) -> bool:
    return not out_of_date(ctx, _state_files(ctx))


def _write_state(ctx: Context) -> str:
    ctx.run(["mkdir", "-p", "-m", "0750", ctx.profile.paths.state_dir])
    for f in _state_files(ctx):
        ctx.ex.put(f.path, f.text, f.mode, f"{f.owner}:{f.group}")
    return (f"applied answers kept in {ctx.profile.paths.state_dir} (secrets apart, 0600), "
            f"with the checksums of the node's files ({CHECKSUMS})")


def steps(nodes: list[str]) -> list[Step]:
    first = nodes[0]
    out = [
        Step(first, "final.frontend", "Frontend login page through the VIP", verify=_verify_frontend,
             after=("cib.started",)),
        Step(first, "final.api", "Zabbix API login as Admin through the VIP", verify=_verify_api),
    ]
    return out


def state_steps(nodes: list[str]) -> list[Step]:
    """First of all: the answers on the nodes mark them as this cluster's, so a
    resumed install (and preflight) knows the half-made state is ours."""
    return [Step(n, "state.answers", "Answers kept on the node (/etc/zabbix-ha)", check=_state_in_place,
                 apply=_write_state) for n in nodes]
