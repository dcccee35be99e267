"""The console's message catalogues: `python -m komagane_console.catalogues extract|check`.

`extract` collects every message of the templates (`_()`, `ngettext()`) and the Python modules
(`_`, `N_`, `gettext`, `ngettext`) and merges it into each language's `messages.po` (new ones
empty, gone ones dropped); translators fill the empty ones. `check` fails on any message that is
not translated in every language, or translated only fuzzily (the test suite runs it). Babel's
own `pybabel` cannot name a catalogue `ja_EASY` (no such CLDR locale), so this does its work
with Babel's functions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from komagane_console.i18n import LANGUAGES, LOCALE_DIR

PACKAGE = Path(__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def template() -> Catalog:
    catalog = Catalog(project="komagane-console")
    for filename, lineno, message, comments, context in extract_from_dir(PACKAGE, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {}}):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(catalogue: str) -> Path:
    return LOCALE_DIR / catalogue / "LC_MESSAGES" / "messages.po"


def extract() -> None:
    source = template()
    for language in LANGUAGES.values():
        if language.catalogue is None:
            continue
        path = po_path(language.catalogue)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language.babel)
        else:
            catalog = Catalog(locale=language.babel, project="komagane-console")
        catalog.update(source, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False, sort_output=False, include_previous=False, include_lineno=False)


def missing() -> dict[str, list[str]]:
    """Language → the messages it lacks (untranslated, fuzzy or absent)."""
    source = template()
    out: dict[str, list[str]] = {}
    for code, language in LANGUAGES.items():
        if language.catalogue is None:
            continue
        path = po_path(language.catalogue)
        catalog: Catalog | None = None
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language.babel)
        lacking = []
        for message in source:
            if not message.id:
                continue
            found = catalog.get(message.id) if catalog is not None else None
            strings = found.string if found is not None else None
            values = strings if isinstance(strings, tuple) else (strings,)
            if found is None or found.fuzzy or not all(values):
                lacking.append(str(message.id[0] if isinstance(message.id, tuple) else message.id))
        if lacking:
            out[code] = lacking
    return out


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "extract":
        extract()
        return 0
    lacking = missing()
    for code, messages in lacking.items():
        print(f"{code}: {len(messages)} untranslated", *(f"  {m}" for m in messages), sep="\n")
    return 1 if lacking else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
