"""Per-partner pseudonyms: HMAC-SHA256 of the person id with that partner's own key.

Each partner's key is derived from the service's master secret, the partner id and the key id of
its agreement, so two partners' pseudonyms for one person cannot be joined, and a new key id
rotates a partner's pseudonyms. Message ids are derived the same way, from the feed and the source
event: a partner can recognise a redelivery but cannot learn the internal event id, and one event
(or one deletion notice) on two feeds of the same partner is two messages with ids of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid


class Pseudonymiser:
    def __init__(self, master_secret: str) -> None:
        if len(master_secret.encode()) < 32:
            raise ValueError("PARTNER_PSEUDONYM_SECRET must be at least 32 bytes")
        self._master = master_secret.encode()

    def _key(self, partner_id: str, key_id: str) -> bytes:
        return hmac.new(self._master, f"{partner_id}/{key_id}".encode(), hashlib.sha256).digest()

    def pseudonym(self, partner_id: str, key_id: str, person_id: str) -> str:
        return hmac.new(self._key(partner_id, key_id), person_id.encode(), hashlib.sha256).hexdigest()

    def message_id(self, partner_id: str, key_id: str, feed: str, source_id: str) -> str:
        digest = hmac.new(self._key(partner_id, key_id), f"message/{feed}/{source_id}".encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))
