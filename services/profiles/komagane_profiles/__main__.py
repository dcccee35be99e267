"""`python -m komagane_profiles` (or `komagane-profiles`) starts the faust worker."""

from __future__ import annotations

import gc
import importlib
import sys


def main() -> None:
    import mode.loop

    # uvloop: faust schedules a few tasks per message (mode's wait_first), and uvloop runs them
    # at about half the cost of the standard loop. Chosen before the app creates any loop.
    mode.loop.use("uvloop")
    from komagane_profiles.app import app

    # The app's parts register their agents, timers, recoveries and views with it on import
    # (app.py lists them).
    for part in ("hub_agent", "kpi_agent", "people_agent", "recovery", "timers", "views"):
        importlib.import_module(f"komagane_profiles.{part}")

    # Start-up's objects (modules, the app, faust's registries) live as long as the process:
    # kept out of the collector's sight, so its full collections stay short.
    gc.collect()
    gc.freeze()

    if len(sys.argv) == 1:
        sys.argv += ["worker", "--loglevel", "info"]
    app.main()


if __name__ == "__main__":
    main()
