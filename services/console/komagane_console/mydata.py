"""My data: everything the platform holds about me as one JSON file (APPI 開示請求), from the gateway's export."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from komagane_console.i18n import TOKYO
from komagane_console.web import gateway, render, require_resident

router = APIRouter()


@router.get("/my-data")
async def mydata_page(request: Request) -> Response:
    require_resident(request)
    return render(request, "mydata.html")


@router.get("/my-data/download")
async def download(request: Request) -> Response:
    """The gateway composes it from every service (and the profile) and records the request in the rights log."""
    viewer = require_resident(request)
    export = await gateway(request, viewer).get(f"/v1/people/{viewer.subject}/export")
    name = f"komagane-my-data-{datetime.now(TOKYO).date().isoformat()}.json"
    return Response(
        json.dumps(export, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
