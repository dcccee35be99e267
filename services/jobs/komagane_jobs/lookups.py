"""Lookups of the jobs service: the names of its entities for problem types; the rest is the
kit's (komagane_kit.lookups)."""

from __future__ import annotations

from komagane_jobs.models import Application, Cooperator, Engagement, Opportunity, Seminar
from komagane_kit.lookups import Lookups, invalid, publish, require_person, today
from komagane_kit.lookups import dump_list as dump
from komagane_kit.lookups import load_list as load

_lookups = Lookups(
    {
        Opportunity: "opportunity",
        Application: "application",
        Engagement: "engagement",
        Seminar: "seminar",
        Cooperator: "cooperator",
    }
)
get_or_404 = _lookups.get_or_404
get_or_422 = _lookups.get_or_422
locked = _lookups.locked

__all__ = ["dump", "get_or_404", "get_or_422", "invalid", "load", "locked", "publish", "require_person", "today"]
