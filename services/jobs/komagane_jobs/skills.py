"""The shared skill vocabulary: free-text tags (Japanese or English) normalised to one word each.

People and opportunities are normalised the same way, so "料理", "調理" and "Cooking" all match.
A tag outside the vocabulary is kept in its normalised form (NFKC, case-folded, trimmed), so
nothing a person says about themselves is lost; it still matches the identical tag elsewhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

VOCABULARY: dict[str, tuple[str, ...]] = {
    "cooking": ("料理", "調理", "炊事", "cook", "cooking", "kitchen", "厨房"),
    "cleaning": ("清掃", "掃除", "cleaning", "housekeeping"),
    "farming": ("農業", "農作業", "畑", "田んぼ", "farming", "agriculture", "farm work"),
    "gardening": ("園芸", "庭仕事", "草刈り", "gardening"),
    "childcare": ("子育て", "保育", "子守", "childcare", "babysitting"),
    "care": ("介護", "介助", "care", "caregiving"),
    "it": ("it", "パソコン", "pc", "computer", "コンピュータ", "プログラミング", "programming"),
    "office": ("事務", "office", "clerical", "データ入力", "data entry"),
    "sales": ("販売", "接客", "レジ", "sales", "customer service", "retail"),
    "driving": ("運転", "driving", "ドライバー", "driver"),
    "crafts": ("手芸", "工作", "ものづくり", "crafts", "handicraft"),
    "teaching": ("講師", "教える", "指導", "teaching", "tutoring"),
    "translation": ("翻訳", "通訳", "translation", "interpreting"),
    "events": ("イベント", "イベント運営", "events", "event management"),
    "design": ("デザイン", "design", "graphic design"),
    "tourism": ("観光", "観光案内", "tourism", "guiding"),
    "carpentry": ("大工", "木工", "carpentry", "woodwork"),
    "light_assembly": ("軽作業", "組立", "検品", "assembly", "packing", "light work"),
}

_SYNONYMS: dict[str, str] = {unicodedata.normalize("NFKC", word).casefold(): canonical for canonical, words in VOCABULARY.items() for word in words} | {
    canonical: canonical for canonical in VOCABULARY
}


def normalise_tag(raw: str) -> str:
    text = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
    return _SYNONYMS.get(text, text)


def normalise_tags(raw: Iterable[str]) -> list[str]:
    """Normalised, without duplicates or blanks, in first-seen order."""
    return list(dict.fromkeys(tag for tag in (normalise_tag(r) for r in raw) if tag))
