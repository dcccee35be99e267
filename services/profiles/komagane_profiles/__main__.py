"""`python -m komagane_profiles` (or `komagane-profiles`) starts the faust worker."""

from __future__ import annotations

import sys


def main() -> None:
    from komagane_profiles.app import app

    if len(sys.argv) == 1:
        sys.argv += ["worker", "--loglevel", "info"]
    app.main()


if __name__ == "__main__":
    main()
