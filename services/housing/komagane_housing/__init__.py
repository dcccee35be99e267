"""Housing service (住まい): properties, trial stays, migration cases, moves, relocation and workation."""
