"""`/docs`: Swagger UI from files the gateway serves itself, never from a CDN.

City networks (LGWAN, hub kiosks) are often offline, and FastAPI's own `/docs` page loads its
script and stylesheet from a CDN (a blank page without internet). The assets come from npm's
`swagger-ui-dist`, pinned in `infra/web-assets/package-lock.json` and installed by `make deps`;
`SWAGGER_UI_DIR` points elsewhere (the container image copies them in). ReDoc is not served.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)
ASSETS = "/docs/assets"
# The repository's npm install (editable development installs); the image sets SWAGGER_UI_DIR.
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "infra" / "web-assets" / "node_modules" / "swagger-ui-dist"


def install_docs(app: FastAPI, assets_dir: Path | None) -> None:
    directory = assets_dir or DEFAULT_DIR
    if not (directory / "swagger-ui-bundle.js").exists():
        log.warning("Swagger UI assets not found in %s (run `make deps`): /docs will not load", directory)
    app.mount(ASSETS, StaticFiles(directory=directory, check_dir=False), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            # Swagger UI otherwise sends the document to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
