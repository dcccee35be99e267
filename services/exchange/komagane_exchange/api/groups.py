"""Groups (clubs, 通いの場, citizen groups, health-station groups) and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from komagane_contracts.events.exchange import GroupRegistered, MemberJoinedGroup, MemberLeftGroup
from komagane_exchange.lookups import get_or_404, get_or_422, publish, require_person
from komagane_exchange.models import Group, GroupCreate, GroupPublic, Hub, Membership, MembershipCreate, MembershipPublic
from komagane_kit.clock import now, tokyo_date
from komagane_kit.errors import Problem
from komagane_kit.inputs import SafeStr
from komagane_kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, page_by_id
from komagane_kit.service import DbSession

router = APIRouter(prefix="/v1/groups", tags=["groups"])
GroupId = Annotated[SafeStr, Path(max_length=36)]
PersonId = Annotated[SafeStr, Path(max_length=36)]


def _members(session: Session, group_id: str) -> int:
    return int(session.exec(select(func.count()).select_from(Membership).where(Membership.group_id == group_id, col(Membership.left_on).is_(None))).one())


def group_public(session: Session, group: Group) -> GroupPublic:
    return GroupPublic.model_validate(group, update={"members": _members(session, group.id)})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupPublic)
def register_group(body: GroupCreate, session: DbSession, response: Response) -> GroupPublic:
    if body.hub_id is not None:  # "" too: it names no hub (and would break the foreign key)
        get_or_422(session, Hub, body.hub_id, "hub_id")
    group = Group.model_validate(body)
    session.add(group)
    publish(
        session,
        GroupRegistered(group_id=group.id, kind=group.kind, hub_id=group.hub_id, is_kayoinoba=group.is_kayoinoba, support_specific=group.support_specific),
    )
    session.commit()
    response.headers["Location"] = f"/v1/groups/{group.id}"
    return group_public(session, group)


@router.get("", response_model=Page[GroupPublic])
def list_groups(
    session: DbSession,
    hub_id: Annotated[SafeStr | None, Query(max_length=36)] = None,
    cursor: Annotated[SafeStr | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[GroupPublic]:
    query = select(Group).order_by(col(Group.id))
    if hub_id:
        query = query.where(Group.hub_id == hub_id)
    return page_by_id(session, query, Group, cursor, limit, lambda g: group_public(session, g))


@router.get("/{group_id}", response_model=GroupPublic)
def get_group(group_id: GroupId, session: DbSession) -> GroupPublic:
    return group_public(session, get_or_404(session, Group, group_id))


@router.post("/{group_id}/members", status_code=status.HTTP_201_CREATED, response_model=MembershipPublic)
def join_group(group_id: GroupId, body: MembershipCreate, session: DbSession) -> MembershipPublic:
    group = get_or_404(session, Group, group_id)
    require_person(session, body.person_id)
    membership = session.get(Membership, (group_id, body.person_id))
    if membership is not None and membership.left_on is None:
        raise Problem(409, "already-member", "This person is already a member of the group.")
    today = tokyo_date(now())
    membership = membership or Membership(group_id=group_id, person_id=body.person_id, joined_on=today)
    membership.joined_on, membership.left_on, membership.officer_role = today, None, body.officer_role
    session.add(membership)
    publish(
        session,
        MemberJoinedGroup(person_id=body.person_id, group_id=group_id, officer_role=body.officer_role, joined_on=today),
        sensitive=group.support_specific,
    )
    session.commit()
    return MembershipPublic.model_validate(membership)


@router.delete("/{group_id}/members/{person_id}", status_code=status.HTTP_204_NO_CONTENT)
def leave_group(group_id: GroupId, person_id: PersonId, session: DbSession) -> Response:
    group = get_or_404(session, Group, group_id)
    membership = session.get(Membership, (group_id, person_id))
    if membership is None or membership.left_on is not None:
        raise Problem(404, "membership-not-found", "This person is not a member of the group.")
    today = tokyo_date(now())
    membership.left_on = today
    session.add(membership)
    publish(session, MemberLeftGroup(person_id=person_id, group_id=group_id, left_on=today), sensitive=group.support_specific)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
