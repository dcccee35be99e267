"""Development sign-in: the demo town's personas, with tokens from the gateway's development issuer.

Only for local use (`DEV_SIGN_IN`, on by default, off in production). Tokens are signed with the
development key the gateway keeps in its data directory (komagane_gateway.tokens, the same code
as `make token`); the people come from the town `make up` loaded (its `town.json`: seed, size and
ids), replanned with the simulator to find, e.g., a resident whose language is Vietnamese.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from komagane_console.problems import N_
from komagane_console.settings import ConsoleSettings


@dataclass(frozen=True)
class Persona:
    key: str
    label: str  # a message id, translated on the sign-in page
    role: str
    subject: str | None
    hub: str | None = None
    name: str | None = None


@lru_cache(maxsize=4)
def _town(path: Path, modified: float) -> tuple[dict[str, str], str | None, str | None]:
    """The town's ids, its showcase resident and a Vietnamese-speaking resident with a profile."""
    record = json.loads(path.read_text())
    ids: dict[str, str] = record["ids"]
    vietnamese: str | None = None
    try:
        from komagane_simulator import plan_town

        town = plan_town(record["seed"], record["people"], date.fromisoformat(record["as_of"]))
        for person in town.people:
            if person.language == "vi" and "PROFILE" in person.consents and person.key in ids:
                vietnamese = ids[person.key]
                break
    except ImportError:  # the simulator is a development package
        pass
    return ids, record.get("showcase"), vietnamese


def personas(settings: ConsoleSettings) -> list[Persona]:
    path = settings.demo_town_file
    ids: dict[str, str] = {}
    showcase = vietnamese = None
    if path.exists():
        ids, showcase, vietnamese = _town(path, path.stat().st_mtime)
    out = []
    if showcase:
        out.append(Persona("resident", N_("A resident (Japanese)"), "resident", showcase))
    if vietnamese:
        out.append(Persona("resident-vi", N_("A resident whose language is Vietnamese"), "resident", vietnamese))
    out += [
        Persona("staff", N_("Hub staff of GOTCHA!WELLNESS"), "staff", "dev-staff", hub=ids.get("hub:wellness")),
        Persona("care", N_("Care staff"), "care", "dev-care"),
        Persona("city", N_("A city officer"), "city", "dev-city"),
        Persona("partner", N_("A partner (the chamber of commerce)"), "partner", "chamber"),
    ]
    return out


def mint(settings: ConsoleSettings, role: str, subject: str | None, hub: str | None) -> str:
    """A token from the gateway's development issuer (as `make token` prints)."""
    from komagane_gateway.settings import GatewaySettings
    from komagane_gateway.tokens import mint_token

    return mint_token(GatewaySettings(data_dir=settings.dev_gateway_data_dir), role, subject=subject, hub_id=hub, ttl_seconds=settings.session_max_age_seconds)
