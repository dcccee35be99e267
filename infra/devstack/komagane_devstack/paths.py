from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The repository checkout this package is installed (editable) from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "infra" / "kafka" / "kafka.sh").exists():
            return parent
    raise RuntimeError("komagane_devstack must run from a repository checkout (editable install)")
