"""The worker's web views: liveness, readiness, its partitions, and where it stands."""

from __future__ import annotations

from faust.web import Request, Response, View

from komagane_kit.kafka import cluster_ready
from komagane_profiles.app import app, redis_client, settings
from komagane_profiles.hub_agent import hub_batches
from komagane_profiles.kpi_agent import kpi_batches
from komagane_profiles.people_agent import person_batches
from komagane_profiles.progress import partition_progress, progress_json


@app.page("/livez")
class Liveness(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@app.page("/readyz")
class Readiness(View):
    async def get(self, request: Request) -> Response:
        checks = {"redis": await _redis_ok(), "kafka": await cluster_ready(settings.kafka_bootstrap_servers, timeout=2.0)}
        ready = all(checks.values())
        body = {"status": "ok" if ready else "unavailable", "checks": {k: "ok" if v else "failing" for k, v in checks.items()}}
        return self.json(body, status=200 if ready else 503)


@app.page("/assignment")
class Assignment(View):
    """The input partitions this worker folds (several workers split them: one consumer group)."""

    async def get(self, request: Request) -> Response:
        active = sorted(f"{tp.topic}:{tp.partition}" for tp in app.assignor.assigned_actives())
        return self.json({"active": active})


@app.page("/progress")
class Progress(View):
    """Where each input partition stands (for operators: a worker that stops committing shows
    here which offset holds it back), and what each agent holds unflushed."""

    async def get(self, request: Request) -> Response:
        agents = {a.name: {"pending": len(a.pending), "flushes": a.flushes, "catching_up": a.catching_up} for a in (person_batches, hub_batches, kpi_batches)}
        return self.json({"partitions": progress_json(partition_progress(app)), "agents": agents, "fence": app.consumer.fence_state()})


async def _redis_ok() -> bool:
    try:
        return bool(await redis_client().ping())
    except Exception:
        return False
