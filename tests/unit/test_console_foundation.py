"""The console's foundation without the platform: sign-in, session cookie, CSRF, OIDC + PKCE, languages."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from komagane_console.catalogues import missing
from komagane_console.gateway import GatewayError
from komagane_console.i18n import Localiser, choose, from_accept_language
from komagane_console.main import ROUTERS, create_app
from komagane_console.problems import field_messages, problem_message
from komagane_console.settings import ConsoleSettings


def settings(tmp_path: Path, **extra: object) -> ConsoleSettings:
    return ConsoleSettings(
        gateway_url="http://127.0.0.1:9",
        session_secret="test-secret-" + "x" * 40,
        dev_gateway_data_dir=tmp_path / "gateway",
        demo_town_file=tmp_path / "no-town.json",
        **extra,  # type: ignore[arg-type]
    )


def csrf(client: TestClient, path: str = "/signin") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "every page with a form carries the CSRF token"
    return match.group(1)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(settings(tmp_path)), follow_redirects=False)


def test_signed_out_pages_redirect_to_sign_in(client: TestClient) -> None:
    for path in ("/", "/places", "/sessions", "/work", "/consents", "/my-data", "/my-data/download"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin"), path


def test_sign_in_sets_a_signed_httponly_samesite_cookie_and_sign_out_ends_it(client: TestClient) -> None:
    token = csrf(client)
    answer = client.post("/signin/dev", data={"csrf_token": token, "persona": "care"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/care"  # signed in: care staff's first page
    assert client.get("/places").status_code == 403  # a resident's page, not care staff's
    client.post("/signout", data={"csrf_token": csrf(client, "/signin")})
    assert client.get("/").headers["location"].startswith("/signin")


def test_sign_in_goes_back_to_the_page_asked_for_and_never_to_another_host(client: TestClient) -> None:
    assert client.get("/consents").headers["location"] == "/signin?next=/consents"
    page = client.get("/signin", params={"next": "/consents"}).text
    assert 'name="next" value="/consents"' in page
    token = csrf(client)
    assert client.post("/signin/dev", data={"csrf_token": token, "persona": "care", "next": "/consents"}).headers["location"] == "/consents"
    token = csrf(client)
    assert client.post("/signin/dev", data={"csrf_token": token, "persona": "care", "next": "//evil.example/x"}).headers["location"] == "/"


def test_a_tampered_cookie_is_no_session(client: TestClient) -> None:
    client.post("/signin/dev", data={"csrf_token": csrf(client), "persona": "city"})
    value = client.cookies["komagane_console"]
    client.cookies.set("komagane_console", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert client.get("/").status_code == 303


def test_every_form_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.post("/signin/dev", data={"csrf_token": csrf(client), "persona": "care"})
    posts = [r.path for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) and "POST" in (r.methods or set())]
    assert len(posts) >= 7
    for path in posts:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for data in ({}, {"csrf_token": "forged"}):
            answer = client.post(concrete, data=data)
            assert answer.status_code == 403, (path, data, answer.status_code)
    assert client.get("/").headers["location"] == "/care"  # still signed in: nothing was done


def test_the_development_sign_in_is_off_in_production(tmp_path: Path) -> None:
    client = TestClient(create_app(settings(tmp_path, dev_sign_in=False)), follow_redirects=False)
    assert "persona" not in client.get("/signin").text
    assert client.post("/signin/dev", data={"csrf_token": csrf(client), "persona": "care"}).status_code == 404


def test_oidc_sign_in_redirects_with_pkce(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, oidc_discovery_url="https://idp.example/.well-known/openid-configuration", oidc_client_id="console"))
    app.state.oidc.server_metadata.update(
        {"authorization_endpoint": "https://idp.example/authorize", "token_endpoint": "https://idp.example/token", "_loaded_at": time.time()}
    )
    answer = TestClient(app, follow_redirects=False).get("/auth/login")
    assert answer.status_code == 302
    url = urlparse(answer.headers["location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.netloc, url.path) == ("idp.example", "/authorize")
    assert query["response_type"] == "code" and query["client_id"] == "console"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["redirect_uri"] == "http://127.0.0.1:8110/auth/callback"
    assert query["state"] and "openid" in query["scope"]


def test_language_order_switcher_then_preference_then_browser() -> None:
    assert choose(None, None, None) == "ja"
    assert choose(None, None, "fr, en;q=0.8") == "en"
    assert from_accept_language("en;q=0.5, pt-BR;q=0.9") == "pt-BR"
    assert choose(None, "vi", "en") == "vi"
    assert choose("ja-easy", "vi", "en") == "ja-easy"
    assert choose(None, "zh-Hans", "vi-VN") == "vi"  # a language the console lacks falls through


def test_the_switcher_changes_the_page_language(client: TestClient) -> None:
    token = csrf(client)
    assert client.post("/language", data={"csrf_token": token, "lang": "vi", "next": "/signin"}).headers["location"] == "/signin"
    page = client.get("/signin").text
    assert '<html lang="vi">' in page and Localiser("vi").gettext("Sign in") in page
    assert client.post("/language", data={"csrf_token": token, "lang": "en", "next": "//evil.example"}).headers["location"] == "/"


def test_every_message_is_translated_in_every_language() -> None:
    assert missing() == {}


def test_problems_and_field_errors_are_said_in_the_viewers_language() -> None:
    problem = {
        "type": "https://komagane.example/problems/validation-error",
        "title": "入力内容に誤りがあります",
        "errors": [{"field": "body.message", "message": "Value should have at most 2000 items after validation, not 2001", "type": "too_long"}],
    }
    error = GatewayError(422, problem)
    vi, en = Localiser("vi"), Localiser("en")
    assert problem_message(error, vi) != problem_message(error, en)
    assert field_messages(error, vi) == {"message": vi.gettext("This is too long.")} and vi.gettext("This is too long.") != "This is too long."
    unknown = GatewayError(409, {"type": "https://komagane.example/problems/something-new", "title": "Conflict", "detail": "as the gateway says"})
    assert problem_message(unknown, en) == "Conflict: as the gateway says"


def test_dates_and_numbers_follow_the_language() -> None:
    from datetime import date

    assert Localiser("ja").fmt_month(date(2026, 12, 1)) == "2026年12月"
    assert Localiser("en").fmt_month(date(2026, 12, 1)) == "December 2026"
    assert Localiser("pt-BR").fmt_number(1234.5) == "1.234,5"
