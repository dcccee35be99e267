"""The console's configuration, from environment variables with local defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    host: str = "127.0.0.1"
    log_level: str = "INFO"
    port: int = 8110
    # Every read and write goes here, with the signed-in person's bearer token.
    gateway_url: str = "http://127.0.0.1:8100"
    gateway_timeout_seconds: float = 10.0
    gateway_connections: int = 200
    # Signs the session cookie. Empty: a random secret per process (sign-ins end on restart);
    # the devstack hands one in, production takes it from the secret store.
    session_secret: SecretStr = SecretStr("")
    session_max_age_seconds: int = 8 * 3600
    # Send the cookie over HTTPS only (production behind TLS).
    cookie_secure: bool = False

    # npm's browser assets (infra/web-assets, installed by `make deps`): Chart.js for the city and
    # partner pages' charts, served by the console itself (no CDN). The image sets its own copy.
    web_assets_dir: Path = Path(__file__).resolve().parents[3] / "infra" / "web-assets" / "node_modules"

    # Development sign-in: demo personas signed with the gateway's development key (its data
    # directory) and the demo town loaded by `make up` (its town.json). Off in production.
    dev_sign_in: bool = True
    dev_gateway_data_dir: Path = Path("./.data/gateway")
    demo_town_file: Path = Path("./.data/town.json")

    # Production sign-in: OpenID Connect authorization code flow with PKCE (Authlib). Set the
    # issuer's discovery URL and the client; the redirect URI is <public_url>/auth/callback.
    oidc_discovery_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scope: str = "openid profile"
    public_url: str = "http://127.0.0.1:8110"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_discovery_url and self.oidc_client_id)
