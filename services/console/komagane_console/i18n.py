"""Languages: gettext catalogues (Babel), the choice of language, and localised dates and numbers.

The source strings are English. Each other language has a catalogue in
`locale/<dir>/LC_MESSAGES/messages.po`; やさしい日本語 (easy Japanese: short sentences, common
words, kana) is a language of its own, `ja-easy`, formatted like Japanese. The catalogues are
compiled in memory when the console starts (`compile_catalogue`): no `.mo` file is kept or
shipped, so none can be stale. `python -m komagane_console.catalogues` extracts, updates and
checks them.

A person's language is, in order: the one they chose with the switcher on every page, their
`preferred_language` from their person record, their browser's `Accept-Language`, Japanese.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).parent / "locale"
TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT = "ja"
SOURCE = "en"


@dataclass(frozen=True)
class Language:
    code: str  # what the console calls it (BCP 47-like; the switcher and the session hold it)
    label: str  # its own name, in itself
    catalogue: str | None  # the folder under locale/ (None: the source language)
    babel: str  # the CLDR locale for dates and numbers
    html: str  # the <html lang> value
    gateway: str  # what the gateway localises problem details into (ja or en)


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("ja", "日本語", "ja", "ja", "ja", "ja"),
        Language("ja-easy", "やさしい にほんご", "ja_EASY", "ja", "ja", "ja"),
        Language("en", "English", None, "en", "en", "en"),
        Language("pt-BR", "Português (Brasil)", "pt_BR", "pt_BR", "pt-BR", "en"),
        Language("vi", "Tiếng Việt", "vi", "vi", "vi", "en"),
    )
}


def supported(tag: str | None) -> str | None:
    """The console language for a language tag (`pt`, `pt-br`, `vi-VN`, `ja-x-easy` …), or None."""
    if not tag:
        return None
    tag = tag.strip().replace("_", "-").lower()
    if tag in ("ja-easy", "ja-x-easy", "ja-easy-jp"):
        return "ja-easy"
    primary = tag.split("-")[0]
    return {"ja": "ja", "en": "en", "pt": "pt-BR", "vi": "vi"}.get(primary)


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an `Accept-Language` header (by q-value, then order)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = supported(tag)
        if code and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def choose(chosen: str | None, preferred: str | None, accept_language: str | None) -> str:
    return supported(chosen) or supported(preferred) or from_accept_language(accept_language) or DEFAULT


def compile_catalogue(po_path: Path) -> GNUTranslations:
    """A .po file compiled in memory (what `msgfmt` would write, without the file)."""
    with po_path.open("rb") as f:
        catalog = read_po(f)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return GNUTranslations(buffer)


@cache
def translations(code: str) -> NullTranslations:
    language = LANGUAGES[code]
    if language.catalogue is None:
        return NullTranslations()
    return compile_catalogue(LOCALE_DIR / language.catalogue / "LC_MESSAGES" / "messages.po")


class Localiser:
    """Everything a page needs in one language: gettext and Babel formatting."""

    def __init__(self, code: str) -> None:
        self.language = LANGUAGES[code]
        self.code = code
        self._translations = translations(code)
        self.locale = Locale.parse(self.language.babel)

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        text = self._translations.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def fmt_date(self, value: date | datetime | str | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            return format_date(value.astimezone(TOKYO).date(), fmt, locale=self.locale)
        return format_date(value, fmt, locale=self.locale)

    def fmt_datetime(self, value: datetime | str | None, fmt: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=TOKYO)
        return format_datetime(value, fmt, tzinfo=TOKYO, locale=self.locale)

    def fmt_month(self, value: date) -> str:
        """A month and year, as the language writes them (2026年12月, December 2026)."""
        return format_skeleton("yMMMM", value, locale=self.locale)

    def fmt_number(self, value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def template_globals(self) -> Mapping[str, Callable[..., str] | object]:
        return {
            "_": self.gettext,
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "format_date": self.fmt_date,
            "format_datetime": self.fmt_datetime,
            "format_number": self.fmt_number,
            "format_month": self.fmt_month,
            "lang": self.language,
        }


@cache
def localiser_for(code: str) -> Localiser:
    """One localiser per language for the life of the process (they hold no per-request state)."""
    return Localiser(code)
