"""The city office's tables, built from the gateway's answers: the KPI dashboard (month by month)
and every hub compared. The pages and the downloads both call these functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from komagane_console.problems import N_
from komagane_console.tables import NOT_COUNTED, Cell, Column, Table, figure, percent

MONTH = Column("month", N_("Month"), "month")


# Each dashboard table: its name, title, chart, and the KPI fields of its columns (label, kind, charted).
KPI_TABLES: list[tuple[str, str, str, list[tuple[str, str, str, bool]]]] = [
    (
        "participation-65",
        N_("People aged 65+ taking part"),
        "line",
        [
            ("kayoinoba_rate_65_plus", N_("通いの場 participation rate, 65+ (%)"), "percent", True),
            ("social_participation_share_65_plus", N_("Social participation share, 65+ (%)"), "percent", True),
            ("kayoinoba_participants_65_plus", N_("通いの場 participants, 65+"), "count", False),
            ("social_participants_65_plus", N_("People taking part, 65+"), "count", False),
            ("registered_65_plus", N_("Registered people aged 65+"), "count", False),
        ],
    ),
    (
        "places-roles",
        N_("People with a place and a role"),
        "line",
        [
            ("people_with_place", N_("People with a place (居場所)"), "count", True),
            ("people_with_role", N_("People with a role (役割)"), "count", True),
            ("profiled_participants", N_("Participants who opted in to profiles"), "count", False),
        ],
    ),
    (
        "health-station",
        N_("Health station enrolment"),
        "line",
        [
            ("health_station_enrolled", N_("Enrolled by the month's end"), "count", True),
            ("health_station_enrolments", N_("New enrolments"), "count", False),
        ],
    ),
    (
        "steps",
        N_("Median daily steps"),
        "line",
        [
            ("median_daily_steps", N_("Median daily steps"), "steps", True),
            ("step_walkers", N_("People with step data"), "count", False),
        ],
    ),
    (
        "migration",
        N_("Migration funnel"),
        "bar",
        [
            ("migration_inquiries", N_("Inquiries (cases opened)"), "count", True),
            ("trial_stays_completed", N_("Trial stays completed"), "count", True),
            ("trial_stays_moved_within_12m", N_("Of those, moved in within 12 months"), "count", True),
            ("migration_conversion", N_("Trial stays that led to a move (%)"), "percent", False),
            ("moves", N_("Households moved in"), "count", False),
        ],
    ),
    (
        "relationship",
        N_("関係人口 (people involved with the town)"),
        "bar",
        [
            ("relationship_registrations", N_("New 関係人口 registrations"), "count", True),
            ("relationship_population", N_("関係人口 by the month's end"), "count", False),
        ],
    ),
    (
        "hub-visits",
        N_("Hub visits"),
        "line",
        [
            ("hub_visits", N_("Visits"), "count", True),
            ("hub_visitors", N_("Visitors"), "count", True),
        ],
    ),
    (
        "care-follow-ups",
        N_("Lapses followed up by care staff"),
        "bar",
        [
            ("lapses_followed_up_within_14d", N_("Lapses followed up within 14 days"), "count", True),
        ],
    ),
]
KPI_TABLE_NAMES = [name for name, *_ in KPI_TABLES]
PERCENT_FIELDS = {"kayoinoba_rate_65_plus", "social_participation_share_65_plus", "migration_conversion"}


def kpi_value(kpis: dict[str, Any], name: str) -> Cell:
    """One KPI as the tables show it: percent for rates, the marker when suppressed."""
    value = kpis.get(name)
    if name in PERCENT_FIELDS and value is not None:
        value = percent(value)
    return figure(value, suppressed=name in kpis.get("suppressed", []))


def kpi_tables(months: list[str], answer: dict[str, Any]) -> list[Table]:
    """The dashboard's tables, one row per month of `months` (oldest first), from the answer of
    `GET /v1/kpis?from=…&to=…`; a month with nothing counted shows NOT_COUNTED."""
    counted = {k["month"]: k for k in answer.get("months", [])}
    tables = []
    for name, title, chart, fields in KPI_TABLES:
        columns = [MONTH] + [Column(key, label, kind, charted) for key, label, kind, charted in fields]  # type: ignore[arg-type]
        table = Table(name, title, columns, chart=chart)  # type: ignore[arg-type]
        for month in months:
            kpis = counted.get(month)
            row: list[Cell] = [month]
            row += [kpi_value(kpis, key) if kpis is not None else NOT_COUNTED for key, *_ in fields]
            table.rows.append(row)
        tables.append(table)
    return tables


HUB_COLUMNS = [
    Column("hub", N_("Hub"), "text"),
    Column("visits", N_("Visits"), "count", charted=True),
    Column("visitors", N_("Visitors"), "count"),
    Column("previous_visits", N_("Visits the month before"), "count"),
    Column("visits_change", N_("Change from the month before (%)"), "percent"),
    Column("mix_index", N_("ごちゃまぜ index (0–1)"), "index"),
    Column("previous_mix_index", N_("ごちゃまぜ index the month before"), "index"),
]


def hubs_table(answer: dict[str, Any], hub_name: Callable[[dict[str, Any]], str]) -> Table:
    """Every hub of `GET /v1/hubs/compared` in one row; a change is suppressed when either month is."""
    table = Table("hubs", N_("Hubs compared"), list(HUB_COLUMNS), chart="bar")
    for hub in answer.get("items", []):
        withheld = set(hub.get("suppressed", []))
        change_withheld = bool({"visits", "previous_visits"} & withheld)
        table.rows.append(
            [
                hub_name(hub),
                figure(hub.get("visits"), suppressed="visits" in withheld),
                figure(hub.get("visitors"), suppressed="visits" in withheld),
                figure(hub.get("previous_visits"), suppressed="previous_visits" in withheld),
                figure(percent(hub.get("visits_change")), suppressed=change_withheld),
                figure(hub.get("mix_index"), suppressed="mix_index" in withheld),
                hub.get("previous_mix_index"),
            ]
        )
    return table
