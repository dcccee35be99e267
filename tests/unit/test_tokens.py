"""Bearer tokens at the gateway and internal tokens between the gateway and the services."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.types import Message, Receive, Scope, Send

from komagane_gateway.settings import GatewaySettings
from komagane_gateway.tokens import DEV_KEY_FILE, AuthenticationError, TokenVerifier, load_or_create_dev_key, main, mint_token
from komagane_kit.internal_auth import INTERNAL_TOKEN_HEADER, Identity, InternalAuth, InternalTokenError, mint_internal_token, verify_internal_token

SECRET = "x" * 48


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(data_dir=tmp_path / "gateway")


async def test_a_development_token_names_the_caller(settings: GatewaySettings) -> None:
    token = mint_token(settings, "staff", hub_id="hub-1")
    principal = await TokenVerifier(settings).verify(token)
    assert (principal.subject, principal.roles, principal.hub_id, principal.role) == ("dev-staff", frozenset({"staff"}), "hub-1", "staff")
    key_file = settings.data_dir / DEV_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_or_create_dev_key(settings.data_dir).private_numbers() == load_or_create_dev_key(settings.data_dir).private_numbers()  # made once


def _sign(settings: GatewaySettings, **changes: object) -> str:
    key = load_or_create_dev_key(settings.data_dir)
    claims = {"iss": settings.auth_issuer, "aud": settings.auth_audience, "sub": "p-1", "roles": ["resident"], "exp": int(time.time()) + 60, **changes}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="ES256")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"aud": "someone-else"}, "(?i)audience"),
        ({"iss": "https://evil.example"}, "(?i)issuer"),
        ({"roles": ["superuser"]}, "none of the roles"),
        ({"exp": None}, "exp"),
    ],
)
async def test_a_token_that_is_not_for_us_is_refused(settings: GatewaySettings, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(AuthenticationError, match=reason):
        await TokenVerifier(settings).verify(_sign(settings, **changes))


async def test_a_token_signed_by_another_key_or_with_none_is_refused(settings: GatewaySettings) -> None:
    verifier = TokenVerifier(settings)
    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(
        {"iss": settings.auth_issuer, "aud": settings.auth_audience, "sub": "x", "roles": ["admin"], "exp": int(time.time()) + 60}, other, "ES256"
    )
    with pytest.raises(AuthenticationError):
        await verifier.verify(forged)
    unsigned = jwt.encode(
        {"iss": settings.auth_issuer, "aud": settings.auth_audience, "sub": "x", "roles": ["admin"], "exp": int(time.time()) + 60}, "", "none"
    )
    with pytest.raises(AuthenticationError):
        await verifier.verify(unsigned)


async def test_production_trusts_the_configured_public_key_only(tmp_path: Path) -> None:
    provider = ec.generate_private_key(ec.SECP256R1())
    pem = provider.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = GatewaySettings(
        data_dir=tmp_path, auth_public_key_pem=pem, auth_issuer="https://idp.example", auth_audience="komagane", auth_allow_development_key=False
    )
    token = jwt.encode({"iss": "https://idp.example", "aud": "komagane", "sub": "c-1", "role": "city", "exp": int(time.time()) + 60}, provider, "ES256")
    assert (await TokenVerifier(settings).verify(token)).roles == {"city"}
    assert not (tmp_path / DEV_KEY_FILE).exists()
    with pytest.raises(ValueError, match="identity provider"):
        mint_token(settings, "admin")
    with pytest.raises(RuntimeError, match="AUTH_JWKS_URL"):
        TokenVerifier(GatewaySettings(data_dir=tmp_path, auth_allow_development_key=False))


def test_make_token_prints_the_token_alone(settings: GatewaySettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    assert main(["--role", "resident", "--sub", "p-42"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert jwt.decode(out.strip(), options={"verify_signature": False})["sub"] == "p-42"
    assert main(["--role", "resident"]) == 2  # a resident token needs the person


def test_internal_tokens_round_trip_and_expire() -> None:
    identity = Identity(subject="p-1", roles=frozenset({"resident"}))
    assert verify_internal_token(SECRET, mint_internal_token(SECRET, identity)) == identity
    with pytest.raises(InternalTokenError):
        verify_internal_token("y" * 48, mint_internal_token(SECRET, identity))
    with pytest.raises(InternalTokenError, match="expired"):
        verify_internal_token(SECRET, mint_internal_token(SECRET, identity, ttl_seconds=-60))
    with pytest.raises(InternalTokenError, match="at least"):
        mint_internal_token("short", identity)


async def test_a_remembered_internal_token_is_refused_once_it_expires() -> None:
    """InternalAuth verifies a token once and then trusts the string, but only until its expiry."""
    seen: list[Identity] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["identity"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    clock = [time.time()]
    guarded = InternalAuth(app, SECRET, clock=lambda: clock[0])
    identity = Identity(subject="p-1", roles=frozenset({"staff"}))
    token = mint_internal_token(SECRET, identity, ttl_seconds=60)

    async def status() -> int:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        scope = {"type": "http", "method": "GET", "path": "/v1/hubs", "headers": [(INTERNAL_TOKEN_HEADER.lower().encode(), token.encode())]}
        await guarded(scope, receive, send)
        return int(sent[0]["status"])

    assert [await status(), await status()] == [204, 204] and seen == [identity, identity]
    clock[0] += 60 + 4  # within the leeway: still good
    assert await status() == 204
    clock[0] += 2
    assert await status() == 401 and len(seen) == 3
