"""Choosing the problem language from Accept-Language, and the Japanese catalogue."""

from __future__ import annotations

import pytest

from komagane_gateway.i18n import language, localize
from komagane_kit.errors import PROBLEM_BASE


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "ja"),
        ("", "ja"),
        ("ja-JP", "ja"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, ja;q=0.8", "ja"),
        ("vi, pt-BR;q=0.8", "en"),  # only languages we lack: English
        ("vi, ja;q=0.3", "ja"),
        ("*", "ja"),
        ("en;q=0", "ja"),
    ],
)
def test_language(header: str | None, expected: str) -> None:
    assert language(header) == expected


def test_japanese_problem_uses_the_problems_own_fields() -> None:
    problem = {"type": PROBLEM_BASE + "service-unavailable", "title": "Service Unavailable", "status": 503, "detail": "The jobs service …", "service": "jobs"}
    localized = localize(problem, "ja")
    assert localized["title"] == "サービスを利用できません" and localized["detail"].startswith("jobs サービスは")
    assert localized["service"] == "jobs" and localize(problem, "en") == problem
    errors = {"type": PROBLEM_BASE + "validation-error", "status": 422, "detail": "Invalid request: birth_year", "errors": [{"field": "birth_year"}]}
    assert localize(errors, "ja")["detail"] == "入力内容に誤りがあります: birth_year"
    unknown = {"type": PROBLEM_BASE + "session-full", "status": 409, "detail": "The session is full."}
    assert localize(unknown, "ja") == {**unknown, "title": "現在の状態と競合しています"}
