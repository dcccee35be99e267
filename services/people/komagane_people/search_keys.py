"""How names and kana are compared in a staff search: one folding for what is stored and what is typed.

A hub worker types what they hear: `やまだ` in hiragana, `ﾔﾏﾀﾞ` from an old half-width keyboard,
`山田` or `Yamada`. Folding makes those meet what was registered: NFKC (half-width katakana and
full-width Latin letters and digits to their usual forms), hiragana to katakana, case folded,
and spaces and the middle dot (・) dropped, so `ヤマダ タロウ` is found by `やまだた`.
"""

from __future__ import annotations

import re
import unicodedata

# Hiragana ぁ (U+3041) … ゖ (U+3096) sit 0x60 below their katakana.
_HIRAGANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
_DROPPED = re.compile(r"[\s・･·]+")
# What a kana field may hold once NFKC-normalised: kana, the prolonged sound mark, spaces, middle dots.
_KANA = re.compile(r"[\u3041-\u3096\u309b-\u309f\u30a0-\u30ff\s・]+")


def fold(text: str) -> str:
    """The search form of a name, kana or query."""
    return _DROPPED.sub("", unicodedata.normalize("NFKC", text).translate(_HIRAGANA).casefold())


def is_kana(text: str) -> bool:
    return bool(_KANA.fullmatch(unicodedata.normalize("NFKC", text)))


def member_number_of(text: str) -> int | None:
    """A query of digits only (full-width too, and a leading `No.` or `#` tolerated) is a member number."""
    plain = re.sub(r"^(no\.?|#)", "", fold(text))
    return int(plain) if plain.isdigit() and len(plain) <= 9 else None
