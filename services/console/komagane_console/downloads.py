"""A page's table as a CSV file (UTF-8 with BOM, so Excel in Japan opens it as UTF-8) or as an
Excel workbook (openpyxl): the same `Table` the page draws, so the figures are the same.

The header row holds the column labels in the viewer's language; numbers are written as
numbers (rates in percent with one decimal, as on the page); a withheld or not-yet-counted cell
holds its label in words, never 0.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from komagane_console.i18n import Localiser
from komagane_console.tables import Cell, Marker, Table

Format = Literal["csv", "xlsx"]
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"


def _cell(value: Cell, loc: Localiser) -> str | int | float | None:
    if isinstance(value, Marker):
        return loc.gettext(value.label)
    return value


def header(table: Table, loc: Localiser) -> list[str]:
    return [loc.gettext(c.label) for c in table.columns]


def rows(table: Table, loc: Localiser) -> list[list[str | int | float | None]]:
    return [[_cell(v, loc) for v in row] for row in table.rows]


def csv_bytes(table: Table, loc: Localiser) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(table, loc))
    for row in rows(table, loc):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def xlsx_bytes(table: Table, loc: Localiser) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = table.name[:31]  # Excel's limit for a sheet name
    sheet.append(header(table, loc))
    for row in rows(table, loc):
        sheet.append(row)
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(loc.gettext(column.label)) + 4))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(table: Table, fmt: str, loc: Localiser, *, stem: str | None = None) -> Response:
    """The table as an attachment in `fmt` (csv or xlsx)."""
    body = csv_bytes(table, loc) if fmt == "csv" else xlsx_bytes(table, loc)
    filename = f"{stem or table.name}.{fmt}"
    return Response(body, media_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
