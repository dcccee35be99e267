"""The gateway's problem+json answers in the viewer's language.

The gateway words its problems in Japanese or English (komagane_gateway.i18n). The console knows
the kinds a resident meets and says them in each of its languages from its catalogues; for any
other kind it shows the gateway's own title and detail, asked for in Japanese (ja, やさしい日本語)
or English (en, pt-BR, vi). Field errors of a validation problem are said per field by their type.
"""

from __future__ import annotations

from komagane_console.gateway import GatewayError
from komagane_console.i18n import Localiser


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a message for extraction; it is translated where it is shown."""
    return message


KINDS: dict[str, str] = {
    "unauthorized": N_("Your sign-in has expired. Please sign in again."),
    "forbidden": N_("You may not do this."),
    "not-found": N_("This page does not exist."),
    "validation-error": N_("Some entries need correcting. Please look at the marked fields."),
    "rate-limited": N_("Too many requests. Please wait a moment and try again."),
    "service-unavailable": N_("This part of the service is not available just now. Please try again later."),
    "upstream-timeout": N_("This part of the service did not answer in time. Please try again later."),
    "already-reserved": N_("You already have a place in this session."),
    "session-not-open": N_("This session no longer takes reservations."),
    "session-started": N_("This session has already started."),
    "reservation-not-found": N_("You have no reservation for this session."),
    "already-applied": N_("You have already applied for this."),
    "opportunity-closed": N_("This opportunity is closed."),
    "profile-not-found": N_("There is nothing to show yet."),
    "person-erased": N_("This person's data has been erased."),
}

FIELD_TYPES: dict[str, str] = {
    "missing": N_("Please fill in this field."),
    "string_too_long": N_("This is too long."),
    "too_long": N_("This is too long."),
    "string_too_short": N_("This is too short."),
    "too_short": N_("This is too short."),
}
FIELD_DEFAULT = N_("This entry is not valid.")


def problem_message(error: GatewayError, loc: Localiser) -> str:
    known = KINDS.get(error.kind)
    if known is not None:
        return loc.gettext(known)
    title = str(error.problem.get("title") or "")
    detail = str(error.problem.get("detail") or "")
    return f"{title}: {detail}" if title and detail else title or detail or loc.gettext(FIELD_DEFAULT)


def field_messages(error: GatewayError, loc: Localiser) -> dict[str, str]:
    return {field: loc.gettext(FIELD_TYPES.get(kind, FIELD_DEFAULT)) for field, kind in error.field_errors().items()}
