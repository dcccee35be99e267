"""The API fuzz run: `python -m bench.api_fuzz` (bench.api_fuzz.command), and its command line
for the bounded run in the tests."""

from bench.api_fuzz.command import fuzz_command, run_fuzz

__all__ = ["fuzz_command", "run_fuzz"]
