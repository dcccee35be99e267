"""The ceiling of bench.gateway_reads: a bare FastAPI endpoint answering a fixed profile body,
served exactly as the gateway serves itself (uvicorn, one process, same options). For
bench.gateway_writes it also stands in for a pillar service: a visit is taken and answered 201
at once, so only the gateway's own work is measured."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()
BODY = os.environ.get("BARE_BODY", "{}").encode()


@app.get("/v1/profiles/{person_id}")
async def profile(person_id: str) -> Response:
    return Response(BODY, media_type="application/json", headers={"ETag": '"1"'})


@app.post("/v1/hubs/{hub_id}/visits", status_code=201)
async def visit(hub_id: str, request: Request) -> Response:
    person_id = (await request.json())["person_id"]
    body = b'{"id": "v-1", "hub_id": "' + hub_id.encode() + b'", "person_id": "' + person_id.encode() + b'"}'
    return Response(body, status_code=201, media_type="application/json", headers={"Location": f"/v1/visits/{hub_id}"})


@app.get("/readyz")
@app.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    # The gateway's komagane_gateway.main.run(), with the bare app.
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None, timeout_graceful_shutdown=10)
