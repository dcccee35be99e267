"""What the jobs service holds about a person, for the disclosure export (komagane_kit.disclosure)."""

from __future__ import annotations

from komagane_jobs.models import (
    Application,
    ArrangementStep,
    Cooperator,
    Engagement,
    MatchProposal,
    PersonSkills,
    Seminar,
    SeminarAttendance,
    SeminarEnrollment,
    WorkShift,
)
from komagane_kit.disclosure import Holding, held_router, rows_of, rows_through
from komagane_kit.people_replica import KnownPerson

HOLDINGS = [
    Holding("registration", rows_of(KnownPerson)),
    Holding("skills", rows_of(PersonSkills)),
    Holding("applications", rows_of(Application)),
    Holding("match_proposals", rows_of(MatchProposal)),
    Holding("engagements", rows_of(Engagement)),
    Holding("arrangement_steps", rows_through(ArrangementStep, "engagement_id", Engagement)),
    Holding("work_shifts", rows_of(WorkShift)),
    Holding("seminar_enrollments", rows_of(SeminarEnrollment)),
    Holding("seminar_attendance", rows_of(SeminarAttendance)),
    Holding("seminars_taught", rows_of(Seminar, "instructor_person_id")),
    Holding("cooperator_terms", rows_of(Cooperator)),
]

router = held_router("jobs", HOLDINGS)
