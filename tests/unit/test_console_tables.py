"""The city pages' tables and their downloads: one table, the same figures in CSV and Excel;
suppressed and uncounted cells in words, never 0."""

from __future__ import annotations

import csv
import io

import openpyxl

from komagane_console.city_tables import hubs_table, kpi_tables
from komagane_console.downloads import csv_bytes, xlsx_bytes
from komagane_console.i18n import localiser_for
from komagane_console.tables import NOT_COUNTED, SUPPRESSED

ANSWER = {
    "months": [
        {
            "month": "2026-12",
            "hub_visits": 0,
            "hub_visitors": None,
            "kayoinoba_rate_65_plus": 0.1234,
            "migration_inquiries": 14,
            "suppressed": ["hub_visitors"],
        },
    ]
}


def test_kpi_rows_keep_zero_suppressed_and_not_counted_apart() -> None:
    tables = {t.name: t for t in kpi_tables(["2026-11", "2026-12"], ANSWER)}
    visits = tables["hub-visits"]
    assert visits.rows == [["2026-11", NOT_COUNTED, NOT_COUNTED], ["2026-12", 0, SUPPRESSED]]
    assert tables["participation-65"].column("kayoinoba_rate_65_plus") == [NOT_COUNTED, 12.3]  # percent, one decimal
    assert tables["migration"].column("migration_inquiries") == [NOT_COUNTED, 14]


def test_csv_and_excel_hold_the_tables_figures() -> None:
    loc = localiser_for("ja")
    table = next(t for t in kpi_tables(["2026-11", "2026-12"], ANSWER) if t.name == "hub-visits")
    raw = csv_bytes(table, loc)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["月", "利用回数", "利用者数"]
    assert rows[2] == ["2026-12", "0", loc.gettext(SUPPRESSED.label)]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table, loc))).active
    assert sheet is not None
    assert [list(r) for r in sheet.iter_rows(values_only=True)][2] == ["2026-12", 0, loc.gettext(SUPPRESSED.label)]


def test_a_hubs_change_is_suppressed_when_either_month_is() -> None:
    answer = {
        "items": [
            {"hub_id": "a", "name_ja": "館", "name_en": "Hall", "visits": 30, "visitors": 12, "previous_visits": 20, "visits_change": 0.5,
             "mix_index": 0.61, "previous_mix_index": None, "suppressed": []},
            {"hub_id": "b", "name_ja": "分館", "name_en": None, "visits": 15, "visitors": 11, "previous_visits": None, "visits_change": None,
             "mix_index": None, "previous_mix_index": None, "suppressed": ["previous_visits", "mix_index"]},
        ]
    }  # fmt: skip
    table = hubs_table(answer, lambda hub: str(hub.get("name_en") or hub["name_ja"]))
    assert table.rows[0] == ["Hall", 30, 12, 20, 50.0, 0.61, None]
    assert table.rows[1] == ["分館", 15, 11, SUPPRESSED, SUPPRESSED, SUPPRESSED, None]
