"""Lookups of the exchange service: the names of its entities for problem types; the rest is
the kit's (komagane_kit.lookups)."""

from __future__ import annotations

from komagane_exchange.models import Activity, Group, Hub
from komagane_exchange.models import Session as ExchangeSession
from komagane_kit.lookups import Lookups, dump_list, load_list, publish, require_person

_lookups = Lookups({Hub: "hub", Activity: "activity", ExchangeSession: "session", Group: "group"})
get_or_404 = _lookups.get_or_404
get_or_422 = _lookups.get_or_422
locked = _lookups.locked

__all__ = ["dump_list", "get_or_404", "get_or_422", "load_list", "locked", "publish", "require_person"]
