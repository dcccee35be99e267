"""The ceiling of bench.gateway_reads: a bare FastAPI endpoint answering a fixed profile body,
served exactly as the gateway serves itself (uvicorn, one process, same options)."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI, Response

app = FastAPI()
BODY = os.environ.get("BARE_BODY", "{}").encode()


@app.get("/v1/profiles/{person_id}")
async def profile(person_id: str) -> Response:
    return Response(BODY, media_type="application/json", headers={"ETag": '"1"'})


@app.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    # The gateway's komagane_gateway.main.run(), with the bare app.
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None, timeout_graceful_shutdown=10)
