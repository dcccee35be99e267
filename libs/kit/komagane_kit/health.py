"""Liveness (`/livez`: the process answers) and readiness (`/readyz`: its dependencies answer)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[bool]]
PROBE_PATHS = frozenset({"/livez", "/readyz"})


def health_router(checks: dict[str, Check], *, timeout: float = 2.0) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Liveness: the process is running")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers", response_model=None)
    async def readyz() -> JSONResponse:
        async def run(check: Check) -> bool:
            try:
                return await asyncio.wait_for(check(), timeout)
            except Exception:
                return False

        names = list(checks)
        results = await asyncio.gather(*(run(checks[n]) for n in names))
        status = {name: ("ok" if ok else "failing") for name, ok in zip(names, results, strict=True)}
        ready = all(results)
        body = {"status": "ok" if ready else "unavailable", "checks": status}
        if ready:
            return JSONResponse(body)
        return JSONResponse(
            {**body, "type": "https://komagane.example/problems/not-ready", "title": "Service Unavailable", "status": 503, "detail": "dependencies failing"},
            status_code=503,
            media_type="application/problem+json",
            headers={"Retry-After": "2"},
        )

    return router
