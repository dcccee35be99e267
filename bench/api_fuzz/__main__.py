"""`python -m bench.api_fuzz`: the full API fuzz run (bench.api_fuzz.command)."""

from bench.api_fuzz.command import main

main()
