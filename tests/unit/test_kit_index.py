"""The kit's package docstring names every module it has, and nothing it does not (a newcomer's index)."""

from __future__ import annotations

import pkgutil
import re

import komagane_kit


def test_the_kit_index_lists_exactly_its_modules() -> None:
    modules = {m.name for m in pkgutil.iter_modules(komagane_kit.__path__)}
    assert komagane_kit.__doc__ is not None
    listed = set(re.findall(r"^- (\w+)\s", komagane_kit.__doc__, re.MULTILINE))
    assert listed == modules, {"missing from the index": sorted(modules - listed), "listed but gone": sorted(listed - modules)}
