"""Routers of the exchange service, one module per resource."""

from komagane_exchange.api.activities import router as activities
from komagane_exchange.api.attendance import router as attendance
from komagane_exchange.api.groups import router as groups
from komagane_exchange.api.hub_activity import router as hub_activity
from komagane_exchange.api.hubs import router as hubs
from komagane_exchange.api.person_sessions import router as person_sessions
from komagane_exchange.api.roster import router as roster
from komagane_exchange.api.sessions import router as sessions
from komagane_exchange.api.volunteering import router as volunteering

ROUTERS = [hub_activity, hubs, activities, sessions, attendance, roster, groups, volunteering, person_sessions]
