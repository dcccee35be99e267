"""Bearer tokens: verifying callers' JWTs, and the development signing key for local use.

Production: the identity provider issues the tokens; the gateway knows its issuer, audience and
either its JWKS URL or a PEM public key (GatewaySettings.auth_*). Locally, with neither set, the
gateway generates an ES256 key pair in its data directory on first start and accepts tokens
signed with it; `make token ROLE=<role> [SUB=<person_id>] [HUB=<hub_id>]` mints one:

    python -m komagane_gateway.tokens --role resident --sub <person_id>

Claims: `sub` (for a resident, their person id; for a partner, its partner id), `roles` (a list, or a single `role`), `hub`
(the hub a staff member works at, optional), `iss`, `aud`, `exp`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from komagane_gateway.settings import GatewaySettings

ROLES: tuple[str, ...] = ("resident", "staff", "care", "city", "partner", "admin")
DEV_KEY_FILE = "dev-signing-key.pem"
DEV_ALGORITHM = "ES256"
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. For a resident, `subject` is their person id; for a partner, its partner id."""

    subject: str
    roles: frozenset[str]
    hub_id: str | None = None

    @property
    def hubs(self) -> frozenset[str]:
        """The hubs a staff member works at (the `hub` claim, space-separated for several)."""
        return frozenset((self.hub_id or "").split())

    @property
    def role(self) -> str:
        """The most privileged of the caller's roles (the one services are told about)."""
        return max(self.roles, key=lambda r: ROLES.index(r) if r in ROLES else -1)


class AuthenticationError(Exception):
    pass


def load_or_create_dev_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The development signing key in `data_dir`, generated (mode 0600) if there is none yet.

    Several processes may ask at once (the gateway starting, `make token`): the key file appears
    atomically, and the loser of the race reads the winner's key.
    """
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".key-")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.close(fd)
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"{path} is not an EC private key")
    return loaded


def _key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def uses_development_key(settings: GatewaySettings) -> bool:
    return not (settings.auth_jwks_url or settings.auth_public_key_pem)


def mint_token(settings: GatewaySettings, role: str, *, subject: str | None = None, hub_id: str | None = None, ttl_seconds: int = 3600) -> str:
    """A token signed with the development key (local use and tests only)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "resident" and not subject:
        raise ValueError("a resident token needs the person id as subject (SUB=<person_id>)")
    if not uses_development_key(settings):
        raise ValueError("this gateway trusts an identity provider (AUTH_JWKS_URL / AUTH_PUBLIC_KEY_PEM): get tokens from it")
    key = load_or_create_dev_key(settings.data_dir)
    issued = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": subject or f"dev-{role}",
        "roles": [role],
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if hub_id:
        claims["hub"] = hub_id
    return jwt.encode(claims, key, algorithm=DEV_ALGORITHM, headers={"kid": _key_id(key.public_key())})


class TokenVerifier:
    """Checks a bearer token's signature, issuer, audience and lifetime, and reads the caller."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        self._key: Any = None
        self.algorithms = list(settings.auth_algorithms)
        self._verified: dict[str, tuple[Principal, float]] = {}
        if settings.auth_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True, lifespan=300, timeout=5)
        elif settings.auth_public_key_pem:
            self._key = serialization.load_pem_public_key(settings.auth_public_key_pem.encode())
        elif settings.auth_allow_development_key:
            self._key = load_or_create_dev_key(settings.data_dir).public_key()
            self.algorithms = [DEV_ALGORITHM]
        else:
            raise RuntimeError("no token verification key: set AUTH_JWKS_URL or AUTH_PUBLIC_KEY_PEM (or allow the development key)")

    def remembered(self, token: str) -> Principal | None:
        """The caller of a token verified before and not expired since, or None."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        return None

    async def verify(self, token: str) -> Principal:
        """The caller of a valid token. A token already verified is remembered until it expires:
        its signature and claims cannot change, and checking an ES256/RS256 signature costs more
        than the rest of a cached profile read."""
        known = self.remembered(token)
        if known is not None:
            return known
        principal, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            if self._jwks is not None:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                key: Any = signing_key.key
            else:
                key = self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                leeway=self.settings.auth_leeway_seconds,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(str(exc)) from exc
        raw_roles = claims.get("roles", [claims["role"]] if "role" in claims else [])
        if isinstance(raw_roles, str):
            raw_roles = raw_roles.split()
        roles = frozenset(r for r in raw_roles if isinstance(r, str) and r in ROLES)
        if not roles:
            raise AuthenticationError(f"the token carries none of the roles {', '.join(ROLES)}")
        hub = claims.get("hub")
        if isinstance(hub, list):
            hub = " ".join(str(h) for h in hub)
        principal = Principal(subject=str(claims["sub"]), roles=roles, hub_id=str(hub) if hub else None)
        # Remembered no longer than the token lives (without the leeway), and at most a minute
        # for a JWKS key, so a key rotation at the identity provider takes effect.
        expires = float(claims["exp"])
        if self._jwks is not None:
            expires = min(expires, time.time() + 60)
        return principal, expires


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m komagane_gateway.tokens", description="Print a development bearer token (alone on stdout).")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--sub", default=None, help="subject; for a resident, their person id")
    parser.add_argument("--hub", default=None, help="the hub a staff member works at")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    args = parser.parse_args(argv)
    try:
        token = mint_token(GatewaySettings(), args.role, subject=args.sub or None, hub_id=args.hub or None, ttl_seconds=args.ttl)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
