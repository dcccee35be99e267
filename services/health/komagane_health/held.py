"""What the health service holds about a person, for the disclosure export (komagane_kit.disclosure).

Health data is S2 (要配慮個人情報): it is disclosed to the person themself, and to someone else
only in a role that may read S2 data at all (audit.S2_READER_ROLES: care staff, not hub staff).
Every disclosure is written to the same append-only audit log as any other S2 read, before the
answer leaves; the person's export shows that log too (who read their health data, and why).
"""

from __future__ import annotations

from sqlmodel import Session

from komagane_health.audit import S2_READER_ROLES, AuditEntry
from komagane_health.consent import HealthConsent
from komagane_health.models import AdviceRecord, DailyActivity, Measurement, PointAward, ProgramEnrollment, StationEnrollment
from komagane_kit.disclosure import HeldData, Holding, Requester, held_router, rows_of
from komagane_kit.errors import Problem

DISCLOSURE_PURPOSE = "DISCLOSURE"
SELF_REASON = "本人による開示請求 (disclosure to the person)"

HOLDINGS = [
    Holding("health_consent", rows_of(HealthConsent)),
    Holding("station_enrollments", rows_of(StationEnrollment)),
    Holding("daily_activity", rows_of(DailyActivity)),
    Holding("measurements", rows_of(Measurement)),
    Holding("advice", rows_of(AdviceRecord)),
    Holding("program_enrollments", rows_of(ProgramEnrollment)),
    Holding("points", rows_of(PointAward)),
    Holding("s2_read_audit", rows_of(AuditEntry)),
]


def _permit(requester: Requester) -> None:
    if not requester.by_the_person and not requester.roles & S2_READER_ROLES:
        raise Problem(403, "role-not-permitted", f"The role {requester.role!r} may not read health data; the health section is disclosed to care staff only.")


def _record(session: Session, requester: Requester, data: HeldData) -> None:
    session.add(
        AuditEntry(
            actor=requester.actor,
            actor_role=requester.role,
            purpose=DISCLOSURE_PURPOSE,
            reason=requester.reason or SELF_REASON,
            person_id=requester.person_id,
            resource="export",
            records=sum(len(rows) for name, rows in data.sections.items() if name != "s2_read_audit"),
        )
    )


router = held_router("health", HOLDINGS, permit=_permit, record=_record)
