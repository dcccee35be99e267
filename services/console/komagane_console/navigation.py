"""Each role's pages, in the order of the navigation bar; the first is where a sign-in lands.

One table, read by the layout (base.html) and the home route: a page of a new role is added here
and nowhere else. Labels are message ids, translated when the bar is drawn.
"""

from __future__ import annotations

from komagane_console.problems import N_

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "resident": [
        ("/places", N_("My places and roles")),
        ("/sessions", N_("Sessions")),
        ("/work", N_("Volunteering and work")),
        ("/consents", N_("My consents")),
        ("/my-data", N_("My data")),
    ],
    "staff": [
        ("/hub", N_("Today at my hub")),
        ("/hub/mix", N_("My hub's mix index")),
    ],
    "care": [
        ("/care", N_("Lapse alerts")),
    ],
    # The city office: filled by the city pages.
    "city": [
        ("/city", N_("City KPIs")),
        ("/city/hubs", N_("Hubs compared")),
    ],
    # Partners: filled by the partner pages.
    "partner": [
        ("/partner", N_("Our data sharing")),
    ],
}


def pages_of(role: str) -> list[tuple[str, str]]:
    return NAVIGATION.get(role, [])


def landing(role: str) -> str | None:
    """Where a signed-in viewer of this role begins (None: the plain welcome page)."""
    pages = pages_of(role)
    return pages[0][0] if pages else None
