"""UI message catalogs: gettext ``.po`` files read with Babel.

Two domains, each with a template (``<domain>.pot``) listing every message
key the UI uses:

- ``applicant``: what the applicant reads (consent, capture prompts, the
  receipt), complete in all ten applicant languages;
- ``operator``: the counter staff's and technicians' controls, complete in
  pt-PT and en (the operator's languages).

``tests/test_i18n.py`` fails when a key of a template is missing or empty in
any catalog of its domain, or when a translation drops a ``{placeholder}``.
Message ids are keys (``face.move_closer``); the English catalog holds the
English text.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).with_name("locales")
DOMAINS = ("applicant", "operator")


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47 tag used by the UI (pt-PT)
    locale: str  # gettext locale directory (pt_PT)
    name: str  # the language's own name, as the applicant recognises it
    direction: str  # ltr | rtl


LANGUAGES: tuple[Language, ...] = (
    Language("pt-PT", "pt_PT", "Português", "ltr"),
    Language("en", "en", "English", "ltr"),
    Language("hi", "hi", "हिन्दी", "ltr"),
    Language("ne", "ne", "नेपाली", "ltr"),
    Language("bn", "bn", "বাংলা", "ltr"),
    Language("uk", "uk", "Українська", "ltr"),
    Language("ur", "ur", "اردو", "rtl"),
    Language("fr", "fr", "Français", "ltr"),
    Language("es", "es", "Español", "ltr"),
    Language("ar", "ar", "العربية", "rtl"),
)
BY_CODE = {language.code: language for language in LANGUAGES}
OPERATOR_LANGUAGES = ("pt-PT", "en")


def domain_languages(domain: str) -> tuple[str, ...]:
    """The languages whose catalog of ``domain`` must be complete."""
    return tuple(BY_CODE) if domain == "applicant" else OPERATOR_LANGUAGES


def po_path(domain: str, code: str) -> Path:
    return LOCALE_DIR / BY_CODE[code].locale / "LC_MESSAGES" / f"{domain}.po"


def pot_path(domain: str) -> Path:
    return LOCALE_DIR / f"{domain}.pot"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


@functools.cache
def template_keys(domain: str) -> tuple[str, ...]:
    return tuple(str(m.id) for m in read_catalog(pot_path(domain)) if m.id)


@functools.cache
def messages(domain: str, code: str) -> dict[str, str]:
    """key -> translated text for one catalog (empty translations are left out)."""
    if code not in domain_languages(domain):
        return {}
    catalog = read_catalog(po_path(domain, code))
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def bundle(code: str) -> dict[str, object]:
    """What the UI loads for one applicant language (operator strings: pt-PT or en)."""
    language = BY_CODE[code]
    return {
        "code": language.code,
        "name": language.name,
        "dir": language.direction,
        "applicant": messages("applicant", code),
    }


def operator_bundle(code: str) -> dict[str, object]:
    if code not in OPERATOR_LANGUAGES:
        code = OPERATOR_LANGUAGES[0]
    return {"code": code, "dir": "ltr", "operator": messages("operator", code)}
