"""Chart.js, from npm at the version infra/web-assets pins, served by the console (never a CDN),
and the console's own small script that draws each chart from the data table beside it.

The table is the chart's only source (the script reads its cells' `data-value`), so the chart
cannot say other than the table, and with JavaScript off the page is its tables.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

router = APIRouter()
CHART_JS = "chart.js/dist/chart.umd.min.js"
CHART_JS_PATH = "/assets/chart.umd.min.js"


@router.get(CHART_JS_PATH, include_in_schema=False)
async def chart_js(request: Request) -> Response:
    path = request.app.state.settings.web_assets_dir / CHART_JS
    if not path.exists():  # `make deps` not run: the pages keep their tables
        return Response("/* Chart.js is not installed: run `make deps` */", media_type="text/javascript", status_code=404)
    # Pinned by package-lock.json: a browser may keep it for a day.
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})
