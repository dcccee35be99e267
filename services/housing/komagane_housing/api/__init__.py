"""Routers of the housing service, one module per resource."""

from komagane_housing.api.migration_cases import router as migration_cases
from komagane_housing.api.moves import router as moves
from komagane_housing.api.properties import router as properties
from komagane_housing.api.trial_stays import router as trial_stays
from komagane_housing.api.visitors import router as visitors

ROUTERS = [properties, trial_stays, migration_cases, moves, visitors]
