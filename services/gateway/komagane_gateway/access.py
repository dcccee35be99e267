"""Who may call what: the role × route matrix, written once and enforced by the gateway.

Every request to the gateway's `/v1` routes (and `/asyncapi.json`) is classified by the first
route class whose methods and path pattern match; the class names the roles it lets through.
Anything not listed falls into `unlisted`, which only `admin` may call — a new route is closed
until someone puts it in this table. `docs/access-matrix.md` is generated from it:

    python -m komagane_gateway.access > docs/access-matrix.md

`resident` (own data only): in an `own` class a resident may act only on themselves — the person
id in the path (the `person` group) or, for writes, the `person_id` of the JSON body must be
the token's subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from komagane_gateway.tokens import ROLES

READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY = READ | WRITE
EVERYONE_BUT_PARTNERS = frozenset({"resident", "staff", "care", "city", "admin"})


@dataclass(frozen=True)
class RouteClass:
    name: str
    methods: frozenset[str]
    pattern: str
    roles: frozenset[str]
    description: str
    # An example request of the class (documentation, and the test that walks the matrix).
    example: tuple[str, str]
    # Residents only for themselves (see the module docstring).
    own: bool = False
    # No token needed at all.
    public: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))

    def matches(self, method: str, path: str) -> re.Match[str] | None:
        return self.regex.fullmatch(path) if method in self.methods else None

    def allows(self, role: str) -> bool:
        return self.public or role in self.roles or role == "admin"


def _roles(*names: str) -> frozenset[str]:
    unknown = set(names) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    return frozenset(names) | {"admin"}


P = r"(?P<person>[^/]+)"

ACCESS: tuple[RouteClass, ...] = (
    RouteClass(
        "contracts",
        READ,
        r"/asyncapi\.json|/v1/schemas/[^/]+",
        frozenset(ROLES),
        "Event contracts (AsyncAPI, JSON Schemas)",
        ("GET", "/asyncapi.json"),
        public=True,
    ),
    RouteClass("person-register", frozenset({"POST"}), r"/v1/people", _roles("staff"), "Register a person", ("POST", "/v1/people")),
    RouteClass(
        "person-search",
        READ,
        r"/v1/people/search",
        _roles("staff"),
        "Find a person at my hub by name, kana or member number (only people registered at the token's hubs; audited)",
        ("GET", "/v1/people/search"),
    ),
    RouteClass(
        "care-follow-ups",
        READ | {"POST"},
        rf"/v1/people/{P}/follow-ups",
        _roles("care"),
        "Follow-ups of a person's lapse alert, with notes (S3; care staff only; each read and write in the person's rights log)",
        ("GET", "/v1/people/{person}/follow-ups"),
    ),
    RouteClass(
        "care-queue",
        READ,
        r"/v1/care/lapses",
        _roles("care"),
        "The lapse queue: alerts with name, consented contact, usual places, groups and follow-ups (S3; care staff only; audited)",
        ("GET", "/v1/care/lapses"),
    ),
    RouteClass(
        "person-record",
        READ,
        rf"/v1/people/{P}",
        _roles("resident", "staff", "care"),
        "A person's record, with name and contact",
        ("GET", "/v1/people/{person}"),
        own=True,
    ),
    RouteClass(
        "person-correction",
        frozenset({"PATCH"}),
        rf"/v1/people/{P}",
        _roles("resident", "staff"),
        "Correct a person's record (訂正; staff give a reason)",
        ("PATCH", "/v1/people/{person}"),
        own=True,
    ),
    RouteClass(
        "person-export",
        READ,
        rf"/v1/people/{P}/export",
        _roles("resident", "staff", "care"),
        "Everything held about a person (開示; anyone but the person gives a reason; audited)",
        ("GET", "/v1/people/{person}/export"),
        own=True,
    ),
    RouteClass(
        "person-erasure",
        frozenset({"DELETE"}),
        rf"/v1/people/{P}",
        _roles("resident", "city"),
        "Erase a person (APPI 利用停止・消去; docs/erasure.md)",
        ("DELETE", "/v1/people/{person}"),
        own=True,
    ),
    RouteClass(
        "consent",
        frozenset({"PUT", "DELETE"}),
        rf"/v1/people/{P}/consents/[^/]+",
        _roles("resident", "staff"),
        "Grant or withdraw consent",
        ("PUT", "/v1/people/{person}/consents/PROFILE"),
        own=True,
    ),
    RouteClass(
        "consent-history",
        READ,
        rf"/v1/people/{P}/consents",
        _roles("resident", "staff"),
        "A person's consents and the history of their grants and withdrawals",
        ("GET", "/v1/people/{person}/consents"),
        own=True,
    ),
    RouteClass(
        "skills-and-matches",
        READ | {"PUT", "POST"},
        rf"/v1/people/{P}/(skills|matches)",
        _roles("resident", "staff"),
        "A person's skills and job matches",
        ("GET", "/v1/people/{person}/skills"),
        own=True,
    ),
    RouteClass(
        "person-sessions",
        READ,
        rf"/v1/people/{P}/sessions",
        _roles("resident", "staff", "care"),
        "A person's upcoming reserved sessions",
        ("GET", "/v1/people/{person}/sessions"),
        own=True,
    ),
    RouteClass(
        "person-participation",
        READ,
        rf"/v1/people/{P}/participation",
        _roles("resident"),
        "What a person took part in over the last weeks (sessions, visits, volunteer shifts) and their groups, by name: their own page",
        ("GET", "/v1/people/{person}/participation"),
        own=True,
    ),
    RouteClass(
        "person-overview",
        READ,
        rf"/v1/people/{P}/(overview|stream)",
        _roles("resident", "staff", "care"),
        "A person's overview (profile, sessions, work, matches, housing) and profile stream",
        ("GET", "/v1/people/{person}/overview"),
        own=True,
    ),
    RouteClass(
        "profile", READ, rf"/v1/profiles/{P}", _roles("resident", "staff", "care"), "Role-and-belonging profile", ("GET", "/v1/profiles/{person}"), own=True
    ),
    RouteClass("hub-mix", READ, r"/v1/hubs/[^/]+/mix", _roles("staff", "city"), "ごちゃまぜ index of a hub (aggregate)", ("GET", "/v1/hubs/h-1/mix")),
    RouteClass(
        "hubs-compared",
        READ,
        r"/v1/hubs/(compared|activity)",
        _roles("staff", "city"),
        "Every hub's visits, visitors, mix index and trend in a month (aggregate)",
        ("GET", "/v1/hubs/compared"),
    ),
    RouteClass("lapse-alerts", READ, r"/v1/alerts(/.*)?", _roles("care"), "Belonging lapse alerts (S3)", ("GET", "/v1/alerts/lapses")),
    RouteClass("kpis", READ, r"/v1/kpis(/.*)?", _roles("city", "staff"), "City KPIs (aggregate)", ("GET", "/v1/kpis")),
    RouteClass(
        "health-s2-read",
        READ,
        rf"/v1/health/people/{P}/(measurements|daily-activity)",
        _roles("care"),
        "A person's health data (S2, audited)",
        ("GET", "/v1/health/people/{person}/measurements"),
    ),
    RouteClass("health-audit", READ, r"/v1/health/audit", _roles("care"), "The S2 read audit log", ("GET", "/v1/health/audit")),
    RouteClass(
        "health-points",
        READ,
        rf"/v1/health/people/{P}/points",
        _roles("resident", "staff", "care"),
        "A person's health points",
        ("GET", "/v1/health/people/{person}/points"),
        own=True,
    ),
    RouteClass(
        "health-groups",
        READ,
        r"/v1/health/groups/[^/]+",
        _roles("staff", "care"),
        "A health-station group (members counted, no names)",
        ("GET", "/v1/health/groups/g-1"),
    ),
    RouteClass(
        "health-records",
        WRITE,
        r"/v1/health(/.*)?",
        _roles("staff", "care"),
        "Record health station data, advice, programmes",
        ("POST", "/v1/health/measurements"),
    ),
    RouteClass(
        "self-service",
        frozenset({"POST"}),
        r"/v1/sessions/[^/]+/(reservations|attendance)|/v1/seminars/[^/]+/enrollments|/v1/opportunities/[^/]+/applications|/v1/properties/[^/]+/inquiries",
        _roles("resident", "staff"),
        "Reserve, check in, enrol, apply, inquire (for oneself, or staff for a person)",
        ("POST", "/v1/sessions/s-1/reservations"),
        own=True,
    ),
    RouteClass(
        "reservation-cancel",
        frozenset({"DELETE"}),
        rf"/v1/sessions/[^/]+/reservations/{P}",
        _roles("resident", "staff"),
        "Cancel a reservation",
        ("DELETE", "/v1/sessions/s-1/reservations/{person}"),
        own=True,
    ),
    RouteClass(
        "catalogue",
        READ,
        r"/v1/(hubs|activities|sessions|opportunities|seminars|properties|health/programs)(/[^/]+)?",
        EVERYONE_BUT_PARTNERS,
        "Hubs, activities, sessions, opportunities, seminars, properties, programmes",
        ("GET", "/v1/hubs"),
    ),
    RouteClass(
        "case-records",
        READ,
        r"/v1/(groups|applications|engagements|cooperators|volunteer-shifts|trial-stays|migration-cases|moves|relocations|workation-stays|relationships)(/.*)?"
        r"|/v1/(opportunities|seminars)/[^/]+/(applications|enrollments)|/v1/sessions/[^/]+/(attendance(/[^/]+)?|roster)",
        _roles("staff"),
        "Person-level records of the pillars (groups, engagements, shifts, attendance, stays, migration cases, moves, relocations, workation, 関係人口)",
        ("GET", "/v1/engagements"),
    ),
    RouteClass(
        "partner-agreements",
        ANY,
        r"/v1/partners/agreements(/.*)?",
        _roles(),
        "Data-sharing agreements with partners (register, end)",
        ("GET", "/v1/partners/agreements"),
    ),
    RouteClass(
        "provision-records",
        READ,
        r"/v1/partners/provision-records(\.csv)?",
        _roles("city"),
        "Records of provision to partners (APPI art. 29), list or CSV",
        ("GET", "/v1/partners/provision-records"),
    ),
    RouteClass(
        "partner-contract",
        READ,
        r"/v1/partner/(asyncapi\.json|schemas/[^/]+/[^/]+)",
        _roles("partner"),
        "A partner's own feed contract (AsyncAPI, JSON Schemas)",
        ("GET", "/v1/partner/asyncapi.json"),
    ),
    RouteClass(
        "partner-own",
        READ,
        r"/v1/partner/(agreements|provision-records(\.csv)?)",
        _roles("partner"),
        "A partner's own agreements (with consent counts, no individuals), how to connect, its provision records (APPI art. 29)",
        ("GET", "/v1/partner/agreements"),
    ),
    RouteClass("operations", WRITE, r"/v1/.*", _roles("staff"), "Every other write: hubs, sessions, groups, jobs, housing", ("POST", "/v1/hubs")),
    RouteClass("unlisted", ANY, r"/.*", _roles(), "Anything not listed above", ("GET", "/v1/not-listed")),
)


# The classes open to each method, in the table's order: a request tries only those patterns.
_BY_METHOD: dict[str, tuple[RouteClass, ...]] = {method: tuple(rc for rc in ACCESS if method in rc.methods) for method in ANY}


def route_class(method: str, path: str) -> tuple[RouteClass, re.Match[str]]:
    for candidate in _BY_METHOD.get(method, ACCESS):
        found = candidate.matches(method, path)
        if found is not None:
            return candidate, found
    raise LookupError(path)  # unreachable: `unlisted` matches everything


def matrix_markdown() -> str:
    lines = [
        "# Access matrix: role × route class",
        "",
        "Generated from `services/gateway/komagane_gateway/access.py` (`python -m komagane_gateway.access > docs/access-matrix.md`);",
        "a unit test keeps the two identical and an end-to-end test walks every cell against the running gateway.",
        "",
        "A request belongs to the **first** class whose methods and path pattern match. ✓ allowed · own: a resident only",
        "for themselves (the person in the path, or the body's `person_id`, is the token's subject) · — 403 Forbidden.",
        "Without a valid bearer token every class but the public ones answers 401 with `WWW-Authenticate: Bearer`.",
        "`/livez`, `/readyz`, `/docs` and `/openapi.json` are public too. The token's subject (`sub`) is a resident's person id;",
        "for `partner` it is the partner id, and the partner contract answers a partner token with that partner's feeds only.",
        "",
        "| route class | methods | path pattern | " + " | ".join(ROLES) + " |",
        "|---|---|---|" + "---|" * len(ROLES),
    ]
    for rc in ACCESS:
        cells = []
        for role in ROLES:
            if rc.public:
                cells.append("public")
            elif not rc.allows(role):
                cells.append("—")
            else:
                cells.append("own" if rc.own and role == "resident" else "✓")
        methods = ", ".join(sorted(rc.methods - {"HEAD"}))
        pattern = rc.pattern.replace("|", "\\|")
        lines.append(f"| **{rc.name}**: {rc.description} | {methods} | `{pattern}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(matrix_markdown(), end="")
