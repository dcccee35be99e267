"""Routers of the partners service."""

from komagane_partners.api.agreements import router as agreements
from komagane_partners.api.partner import router as partner
from komagane_partners.api.partner_own import router as partner_own
from komagane_partners.api.provision import router as provision

ROUTERS = [agreements, provision, partner, partner_own]
