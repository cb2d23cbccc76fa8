"""Every string a person reads goes through gettext (wizard.i18n._)."""

from __future__ import annotations

import array
import ast
import struct
from pathlib import Path

import pytest

from tests.tui.conftest import SIZE
from wizard import i18n

ROOT = Path(__file__).resolve().parents[2]
# Calls whose arguments at these positions are text a person reads.
USER_TEXT_ARGS = {"Prose": (0,), "Static": (0,), "Label": (0,), "Button": (0,), "RadioButton": (0,),
                  "Checkbox": (0,), "TabPane": (0,), "notify": (0,), "print": (0,), "FieldRow": (1, 3),
                  "Binding": (2,), "Problem": (2, 3), "_PathProblem": (1, 2), "UserError": (0, 1)}


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo file (the format msgfmt writes), so the test needs no gettext tools."""
    messages = {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for k in keys:
        kb, vb = k.encode(), messages[k].encode()
        offsets.append((len(ids), len(kb), len(strs), len(vb)))
        ids += kb + b"\0"
        strs += vb + b"\0"
    keystart = 7 * 4 + 16 * len(keys)
    valuestart = keystart + len(ids)
    koffsets, voffsets = [], []
    for o1, l1, o2, l2 in offsets:
        koffsets += [l1, o1 + keystart]
        voffsets += [l2, o2 + valuestart]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.array("i", koffsets + voffsets).tobytes() + ids + strs)


@pytest.fixture
def japanese(tmp_path, monkeypatch):
    write_mo(tmp_path / "ja" / "LC_MESSAGES" / "zabbix_ha.mo",
             {"Nodes": "ノード", "Host name": "ホスト名",
              "zabbix-ha · {title} · step {n} of {total}": "zabbix-ha · {title} · {n}/{total}"})
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setenv("LANGUAGE", "ja")
    i18n.reset()
    yield
    i18n.reset()


def test_a_catalogue_translates_without_touching_screens(japanese):
    assert i18n._("Nodes") == "ノード"
    assert i18n._("Not in the catalogue") == "Not in the catalogue"


async def test_the_screens_show_the_translation(japanese, make_app):
    app = make_app(start_at="nodes")
    async with app.run_test(size=SIZE):
        assert str(app.screen.query_one("#title").render()) == "zabbix-ha · ノード · 2/12"
        labels = [str(label.render()) for label in app.screen.query(".field-label")]
        assert "ホスト名" in labels


def test_no_language_means_english(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "xx")
    i18n.reset()
    assert i18n._("Nodes") == "Nodes"
    i18n.reset()


def _bare_strings(path: Path):
    """String literals handed straight to a user-facing call (not through _())."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        positions = USER_TEXT_ARGS.get(name, ())
        for index, arg in enumerate(node.args):
            if index in positions and isinstance(arg, ast.Constant) and isinstance(arg.value, str) and any(c.isalpha() for c in arg.value):
                yield f"{path.relative_to(ROOT)}:{node.lineno}: {arg.value!r}"


def test_user_facing_strings_go_through_gettext():
    files = sorted((ROOT / "screens").glob("*.py")) + [ROOT / "wizard" / "interactive.py", ROOT / "wizard" / "steps.py"]
    assert [hit for f in files for hit in _bare_strings(f)] == []


def _msgids(pot: str) -> set[str]:
    import re

    return {m for m in re.findall(r'^msgid ((?:".*"\n)+)', pot + "\n", re.M)} - {'""\n'}


def test_the_template_lists_every_string_of_the_wizard(tmp_path):
    # The template a translator starts from holds exactly the strings the wizard has now
    # (refreshed with the command in wizard/locale/README.md).
    import subprocess

    sources = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "screens").glob("*.py")) + [
        "wizard/interactive.py", "wizard/steps.py"]
    fresh = tmp_path / "fresh.pot"
    subprocess.run(["xgettext", "--language=Python", "--keyword=_", "--keyword=ngettext:1,2", "--from-code=UTF-8",
                    "-o", str(fresh), *sources], cwd=ROOT, check=True, timeout=60)
    pot = (ROOT / "wizard" / "locale" / "zabbix_ha.pot").read_text()
    want, have = _msgids(fresh.read_text()), _msgids(pot)
    assert want - have == set(), "missing from zabbix_ha.pot: refresh it (wizard/locale/README.md)"
    assert have - want == set(), "no longer in the wizard: refresh zabbix_ha.pot (wizard/locale/README.md)"
    assert 'msgid "Host name"' in pot and 'msgid "Save and quit"' in pot
