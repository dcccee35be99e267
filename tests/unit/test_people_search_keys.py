"""How a typed query meets a stored name: hiragana/katakana and full/half width folded."""

from __future__ import annotations

import pytest

from komagane_people.search_keys import fold, is_kana, member_number_of


@pytest.mark.parametrize("typed", ["やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "ヤ マ ダ", "ヤ・マ・ダ", "やまだ　"])
def test_every_way_of_typing_yamada_folds_alike(typed: str) -> None:
    assert fold(typed) == "ヤマダ"


def test_latin_letters_and_digits_fold_to_narrow_lower_case() -> None:
    assert fold("ＡＮＡ Pereira") == "anapereira"
    assert fold("１２３") == "123"


def test_kana_accepts_readings_in_either_script_and_refuses_anything_else() -> None:
    assert is_kana("コマガネ ハナコ") and is_kana("こまがね はなこ") and is_kana("ｺﾏｶﾞﾈ") and is_kana("グエン・ヴァン・ミン")
    assert not is_kana("Komagane") and not is_kana("駒ヶ根") and not is_kana("")


def test_a_query_of_digits_is_a_member_number() -> None:
    assert member_number_of("０４２") == 42 and member_number_of("No.42") == 42 and member_number_of("#7") == 7
    assert member_number_of("やまだ") is None and member_number_of("1234567890") is None
