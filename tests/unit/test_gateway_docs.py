"""The gateway's /docs works without internet: every script, stylesheet and image comes from the gateway."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from fastapi.testclient import TestClient

from komagane_gateway.main import build_gateway
from komagane_gateway.settings import GatewaySettings


def test_docs_reference_no_external_host_and_every_asset_is_served(tmp_path: Path) -> None:
    app, _ = build_gateway(GatewaySettings(data_dir=tmp_path, internal_token_secret="x" * 48))
    client = TestClient(app)
    page = client.get("/docs")
    assert page.status_code == 200
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text) + re.findall(r"""url:\s*["']([^"']+)["']""", page.text)
    assert len(references) >= 3, page.text
    external = [r for r in references if urlparse(r).netloc or r.startswith("//")]
    assert external == [], f"/docs loads from other hosts: {external}"
    assert not re.search(r"https?://", page.text), "no absolute URL at all in the page"
    assert '"validatorUrl": null' in page.text  # no document sent to the online validator
    for reference in references:
        if reference.startswith("/docs/assets/"):
            asset = client.get(reference)
            assert asset.status_code == 200 and len(asset.content) > 100, reference
    assert client.get("/redoc").status_code != 200  # ReDoc (CDN-only) is not served
