"""A session's attendance, read back (staff): who attended, how, and who recorded it.

Recording it is `POST /v1/sessions/{id}/attendance` (komagane_exchange.api.sessions), whose
`Location` leads here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import col, select

from komagane_exchange.lookups import exists_or_404, get_or_404
from komagane_exchange.models import Attendance, AttendancePublic
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.views import attendance_view
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/sessions/{session_id}/attendance", tags=["sessions"])
SessionId = Annotated[SafeStr, Path(max_length=36)]
AttendanceId = Annotated[SafeStr, Path(max_length=36)]


@router.get("", response_model=Page[AttendancePublic])
def list_attendance(
    session_id: SessionId,
    session: DbSession,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[AttendancePublic]:
    exists_or_404(session, ExchangeSession, session_id)
    query = select(Attendance).where(Attendance.session_id == session_id).order_by(col(Attendance.id))
    return page_by_id(session, query, Attendance, cursor, limit, attendance_view)


@router.get("/{attendance_id}", response_model=AttendancePublic)
def get_attendance(session_id: SessionId, attendance_id: AttendanceId, session: DbSession) -> AttendancePublic:
    attendance = get_or_404(session, Attendance, attendance_id)
    if attendance.session_id != session_id:  # (the same id under another session is not there)
        raise Problem(404, "attendance-not-found", f"No attendance {attendance_id} at session {session_id}.")
    return attendance_view(attendance)
