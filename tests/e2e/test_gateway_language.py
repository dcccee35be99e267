"""Problem messages follow Accept-Language: Japanese by default, English on request — for the
gateway's own problems and for the services' problems it passes on."""

from __future__ import annotations

import httpx

from komagane_devstack.stack import Stack
from tests.support.platform import gateway_client


async def test_problems_in_japanese_by_default_and_english_on_request(stack: Stack) -> None:
    assert stack.gateway is not None
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as anonymous:
        ja = await anonymous.get("/v1/hubs")
        en = await anonymous.get("/v1/hubs", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert ja.status_code == en.status_code == 401
    assert ja.headers["content-language"] == "ja" and ja.json()["title"] == "認証が必要です"
    assert en.headers["content-language"] == "en" and en.json()["title"] == "Unauthorized"
    assert ja.headers["www-authenticate"] == en.headers["www-authenticate"]

    async with gateway_client(stack, "resident", subject="lang-resident") as resident:
        forbidden = await resident.get("/v1/engagements")
        assert forbidden.status_code == 403 and "engagements" not in forbidden.json()["detail"]
        assert forbidden.json()["detail"] == "この役割では case-records の操作はできません。"
        missing = await resident.get("/v1/profiles/lang-resident", headers={"Accept-Language": "en"})
        assert missing.status_code == 404 and missing.json()["detail"].startswith("No profile")
    async with gateway_client(stack, "admin") as admin:
        # A service's validation problem, passed through: Japanese title and detail, same fields.
        invalid = await admin.post("/v1/people", json={"birth_year": "soon"})
        assert invalid.status_code == 422 and invalid.headers["content-language"] == "ja"
        body = invalid.json()
        assert body["title"] == "入力内容に誤りがあります" and "birth_year" in body["detail"]
        assert "birth_year" in [e["field"] for e in body["errors"]]
        english = await admin.post("/v1/people", json={"birth_year": "soon"}, headers={"Accept-Language": "en"})
        assert english.json()["detail"].startswith("Invalid request")
