"""Activities (what happens at a hub) and the sessions scheduled for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlmodel import select

from komagane_contracts.events.exchange import ActivityCategory, ActivityPublished, SessionScheduled
from komagane_exchange.lookups import dump_list, get_or_404, get_or_422, load_list, publish, require_person, require_staff
from komagane_exchange.models import Activity, ActivityCreate, ActivityPublic, Hub, SessionCreate, SessionStaffView
from komagane_exchange.models import Session as ExchangeSession
from komagane_exchange.views import session_view
from komagane_kit.clock import aware, now
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/activities", tags=["activities"])
ActivityId = Annotated[SafeStr, Path(max_length=36)]


def activity_public(activity: Activity) -> ActivityPublic:
    return ActivityPublic.model_validate(activity, update={"languages": load_list(activity.languages)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ActivityPublic)
def publish_activity(body: ActivityCreate, session: DbSession, response: Response) -> ActivityPublic:
    get_or_422(session, Hub, body.hub_id, "hub_id")
    if body.organiser_person_id:
        require_person(session, body.organiser_person_id, "organiser_person_id")
    is_kayoinoba = body.is_kayoinoba or body.category is ActivityCategory.KAYOINOBA
    activity = Activity.model_validate(
        body,
        update={
            "category": body.category.value,
            "organiser_kind": body.organiser_kind.value,
            "languages": dump_list(body.languages),
            "is_kayoinoba": is_kayoinoba,
        },
    )
    session.add(activity)
    publish(
        session,
        ActivityPublished(
            hub_id=activity.hub_id,
            activity_id=activity.id,
            category=body.category,
            is_kayoinoba=is_kayoinoba,
            support_specific=body.support_specific,
            languages=body.languages,
            organiser_kind=body.organiser_kind.value,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/activities/{activity.id}"
    return activity_public(activity)


@router.get("", response_model=Page[ActivityPublic])
def list_activities(
    session: DbSession,
    hub_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    category: ActivityCategory | None = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ActivityPublic]:
    query = select(Activity).order_by(Activity.id)  # type: ignore[arg-type]
    if hub_id:
        query = query.where(Activity.hub_id == hub_id)
    if category:
        query = query.where(Activity.category == category.value)
    return page_by_id(session, query, Activity, cursor, limit, lambda a: activity_public(a))


@router.get("/{activity_id}", response_model=ActivityPublic)
def get_activity(activity_id: ActivityId, session: DbSession) -> ActivityPublic:
    return activity_public(get_or_404(session, Activity, activity_id))


@router.post("/{activity_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionStaffView)
def schedule_session(activity_id: ActivityId, body: SessionCreate, session: DbSession, response: Response, request: Request) -> SessionStaffView:
    activity = get_or_404(session, Activity, activity_id)
    starts_at, ends_at = aware(body.starts_at), aware(body.ends_at)
    if body.recorded_after:
        require_staff(request, "recorded_after")
        if starts_at > now():
            raise Problem(
                422,
                "validation-error",
                "recorded_after is for a session that has begun: starts_at is in the future",
                errors=[{"field": "starts_at", "message": "in the future"}],
            )
    elif starts_at <= now():
        raise Problem(
            422, "validation-error", "starts_at is in the past: sessions are scheduled ahead", errors=[{"field": "starts_at", "message": "in the past"}]
        )
    scheduled = ExchangeSession(activity_id=activity.id, hub_id=activity.hub_id, starts_at=starts_at, ends_at=ends_at, capacity=body.capacity)
    session.add(scheduled)
    publish(
        session,
        SessionScheduled(
            hub_id=activity.hub_id,
            session_id=scheduled.id,
            activity_id=activity.id,
            category=ActivityCategory(activity.category),
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=body.capacity,
        ),
    )
    session.commit()
    response.headers["Location"] = f"/v1/sessions/{scheduled.id}"
    return SessionStaffView.model_validate(session_view(scheduled, activity), update={"check_in_code": scheduled.check_in_code})
