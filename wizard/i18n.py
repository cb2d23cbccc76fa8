"""gettext for every string a person reads in the wizard.

One domain (`zabbix_ha`), catalogues inside the package (wizard/locale/<lang>/
LC_MESSAGES/zabbix_ha.mo) so the frozen binary carries them. The language comes
from the usual LANGUAGE / LC_ALL / LC_MESSAGES / LANG variables; with no
catalogue for it the English text is used unchanged. A Japanese catalogue is a
new .po file compiled with msgfmt, no code change (see wizard/locale/README).
"""

from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

DOMAIN = "zabbix_ha"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@lru_cache(maxsize=1)
def _translation() -> gettext.NullTranslations:
    # Looked up once, on first use, so importing this module costs nothing.
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """The translation of `message` (itself when there is none)."""
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation().ngettext(singular, plural, n)


def reset() -> None:
    """Forget the cached catalogue (tests switch languages)."""
    _translation.cache_clear()
