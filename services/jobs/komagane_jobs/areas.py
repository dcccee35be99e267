"""Daily-life areas (日常生活圏域) of Komagane and its neighbour, and how far apart they are.

A small adjacency table is enough for "how far would this person travel": the number of area
borders crossed. Unknown areas have no distance (the matching says so rather than guessing).
"""

from __future__ import annotations

from collections import deque

ADJACENT: dict[str, frozenset[str]] = {
    "赤穂": frozenset({"赤穂南", "赤穂東", "宮田", "東伊那"}),
    "赤穂南": frozenset({"赤穂", "赤穂東", "中沢"}),
    "赤穂東": frozenset({"赤穂", "赤穂南", "東伊那"}),
    "東伊那": frozenset({"赤穂", "赤穂東", "中沢"}),
    "中沢": frozenset({"東伊那", "赤穂南"}),
    "宮田": frozenset({"赤穂"}),
}


def _all_distances() -> dict[tuple[str, str], int]:
    distances: dict[tuple[str, str], int] = {}
    for start in ADJACENT:
        seen = {start: 0}
        queue = deque([start])
        while queue:
            here = queue.popleft()
            for there in sorted(ADJACENT[here]):
                if there not in seen:
                    seen[there] = seen[here] + 1
                    queue.append(there)
        distances.update({(start, end): hops for end, hops in seen.items()})
    return distances


_DISTANCES = _all_distances()


def hops(a: str, b: str) -> int | None:
    """Area borders between a and b; None when either area is not in the table."""
    return _DISTANCES.get((a, b))
