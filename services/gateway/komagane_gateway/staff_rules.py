"""Two rules for callers who act on someone else's behalf, applied after the access matrix.

**Staff write only for their hubs.** A staff token carries the `hub` claim (several hubs:
space-separated). A staff write on a hub-scoped resource — anything under `/v1/hubs/{hub}`, a
session, activity or group (the gateway asks the exchange service which hub it belongs to), or
a body with a `hub_id` — must be for one of those hubs; otherwise 403 `wrong-hub`. Staff
without a hub claim may not write hub-scoped resources at all. Admin is not restricted.

**Acting for a person needs a reason.** One header for every case, `X-Access-Reason`
(3–500 characters; beyond ASCII — Japanese — percent-encoded UTF-8 as in RFC 8187), else
422 naming it:
- staff acting for a person as proxy — a write in an `own` route class (reserve, check in,
  enrol, apply, consent, skills …) for a person other than themselves;
- care staff reading a person's S2 health data (`health-s2-read`). The health service records
  the reason in its append-only audit log; it takes it as the `reason` query parameter, which
  the gateway fills from the header (a `reason` given in the query is accepted as well);
- anyone but the person asking for a person's export (`person-export`, 開示) — admin too: the
  people service records the reason in the person's rights log (rights.py).
The reason travels to the service in the same header, so services and their logs see it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from fastapi import Request

from komagane_gateway.access import WRITE, RouteClass
from komagane_gateway.tokens import Principal
from komagane_kit.errors import Problem

REASON_HEADER = "X-Access-Reason"
REASON_MIN, REASON_MAX = 3, 500
S2_READ_CLASSES = frozenset({"health-s2-read"})
EXPORT_CLASS = "person-export"

_HUB_PATH = re.compile(r"/v1/hubs/(?P<hub>[^/]+)(/.*)?")
_OWNED_BY_A_HUB = re.compile(r"/v1/(?P<kind>sessions|activities|groups)/(?P<id>[^/]+)(/.*)?")


async def _json_body(request: Request) -> Any:
    if "json" not in request.headers.get("content-type", ""):
        return None
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


async def _hub_of_resource(request: Request, kind: str, resource_id: str) -> str | None:
    """The hub a session, activity or group belongs to, as the exchange service knows it."""
    exchange = request.app.state.upstreams["exchange"]
    answer = await exchange.call("GET", f"/v1/{kind}/{resource_id}", headers=exchange.forward_headers(request))
    if answer.status_code != 200:
        return None  # unknown: the service answers the write itself (404)
    hub = answer.json().get("hub_id")
    return str(hub) if hub else None


async def _hubs_written(request: Request) -> set[str]:
    path = request.url.path
    hubs: set[str] = set()
    if found := _HUB_PATH.fullmatch(path):
        hubs.add(found["hub"])
    elif found := _OWNED_BY_A_HUB.fullmatch(path):
        hub = await _hub_of_resource(request, found["kind"], found["id"])
        if hub:
            hubs.add(hub)
    body = await _json_body(request)
    if isinstance(body, dict) and body.get("hub_id"):
        hubs.add(str(body["hub_id"]))
    return hubs


def _reason(request: Request) -> str | None:
    header = request.headers.get(REASON_HEADER)
    # Header values are ASCII: a Japanese reason comes percent-encoded (UTF-8), as in RFC 8187.
    given = unquote(header) if header else request.query_params.get("reason")
    return given.strip() if given else None


def _require_reason(request: Request, why: str, *, as_query: bool = False) -> None:
    reason = _reason(request)
    if reason is None or not REASON_MIN <= len(reason) <= REASON_MAX:
        raise Problem(
            422,
            "reason-required",
            f"{why}: say why in the {REASON_HEADER} header ({REASON_MIN}–{REASON_MAX} characters).",
            errors=[{"field": REASON_HEADER, "message": f"required, {REASON_MIN}–{REASON_MAX} characters"}],
        )
    request.state.access_reason = reason
    request.state.reason_in_query = as_query


def staff_rules_apply(principal: Principal, method: str, rc: RouteClass) -> bool:
    """Whether a rule can concern this request (of the reads, only S2 reads and exports)."""
    return rc.name == EXPORT_CLASS or ("admin" not in principal.roles and (method in WRITE or rc.name in S2_READ_CLASSES))


# What the OpenAPI document declares for the header (printable ASCII, no blank at either end).
REASON_SHAPE = re.compile(r"[!-~]([ -~]*[!-~])?")


def check_given_reason(request: Request) -> None:
    """A reason given where none is needed is still checked: the document declares one shape."""
    header = request.headers.get(REASON_HEADER)
    if header is not None and not (REASON_MIN <= len(header) <= REASON_MAX and REASON_SHAPE.fullmatch(header)):
        raise Problem(
            422,
            "validation-error",
            f"{REASON_HEADER} must be {REASON_MIN}–{REASON_MAX} printable ASCII characters (percent-encode anything else).",
            errors=[{"field": REASON_HEADER, "message": "printable ASCII, percent-encoded beyond it"}],
        )


async def apply_staff_rules(request: Request, principal: Principal, rc: RouteClass, person: str | None) -> None:
    """`person`: the person the request is about (path or body), if any."""
    check_given_reason(request)
    if not staff_rules_apply(principal, request.method, rc):
        return
    if rc.name == EXPORT_CLASS:
        if person != principal.subject:
            _require_reason(request, "Disclosing a person's data to someone else needs a reason (it is audited)")
        return
    write = request.method in WRITE
    if "staff" in principal.roles and write:
        hubs = await _hubs_written(request)
        outside = hubs - principal.hubs
        if outside:
            raise Problem(
                403,
                "wrong-hub",
                f"Staff may write only for their own hubs ({', '.join(sorted(principal.hubs)) or 'none in the token'}), not {', '.join(sorted(outside))}.",
                hubs=sorted(outside),
            )
        if rc.own and person is not None and person != principal.subject:
            _require_reason(request, "Staff acting for a person must give a reason")
    if rc.name in S2_READ_CLASSES:
        _require_reason(request, "Reading a person's S2 health data needs a reason (it is audited)", as_query=True)
