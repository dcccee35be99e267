"""Which Prometheus series names the observability stack offers, and which ones a query uses.

OTLP metric → Prometheus name, as the collector's `prometheus` exporter writes it
(`add_metric_suffixes` on, no `namespace`):

- every character outside ``[a-zA-Z0-9_:]`` becomes ``_`` (``outbox.oldest_age`` → ``outbox_oldest_age``);
- the unit is appended as a word unless the name already ends with it: ``ms`` → ``_milliseconds``,
  ``s`` → ``_seconds``, ``By`` → ``_bytes``, ``1`` → ``_ratio`` (gauges only), ``a/b`` → ``_a_per_b``;
  annotations in braces (``{message}``, ``{request}``) are dropped;
- monotonic sums (counters) get ``_total``; non-monotonic sums and gauges become gauges as they are;
- histograms are the series ``_bucket``, ``_sum`` and ``_count`` of that name.

Resource attributes become labels (`resource_to_telemetry_conversion`), so ``service.name`` is the
``service_name`` label; point attributes likewise turn dots into underscores (``http.target``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tests.support.otlp import ReceivedMetric

UNIT_WORDS = {
    "ms": "milliseconds",
    "s": "seconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "%": "percent",
}


def sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_:]", "_", name)


def unit_suffix(unit: str, kind: str) -> str:
    unit = re.sub(r"\{[^}]*\}", "", unit).strip()
    if not unit:
        return ""
    if unit == "1":
        return "ratio" if kind == "gauge" else ""
    if "/" in unit:
        per, by = unit.split("/", 1)
        return "_".join(w for w in (UNIT_WORDS.get(per, per), "per", UNIT_WORDS.get(by, by)) if w)
    return UNIT_WORDS.get(unit, unit)


def prometheus_names(metric_name: str, unit: str, kind: str, monotonic: bool) -> set[str]:
    """The series names under which one OTLP metric appears in Prometheus."""
    base = sanitize(metric_name)
    suffix = unit_suffix(unit, kind)
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    if kind in ("histogram", "exponential_histogram"):
        return {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    if kind == "summary":
        return {base, f"{base}_sum", f"{base}_count"}
    if kind == "sum" and monotonic:
        return {base if base.endswith("_total") else f"{base}_total"}
    return {base}


def exported_names(metrics: Iterable[ReceivedMetric]) -> set[str]:
    return {name for m in metrics for name in prometheus_names(m.name, m.unit, m.kind, m.monotonic)}


def spanmetrics_names(namespace: str, duration_unit: str = "ms") -> set[str]:
    """Series of the collector's spanmetrics connector: a `calls` counter and a `duration` histogram."""
    ns = sanitize(namespace)
    return prometheus_names(f"{ns}.calls", "", "sum", True) | prometheus_names(f"{ns}.duration", duration_unit, "histogram", False)


_FUNCTIONS_AND_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "by", "without", "rate", "irate", "increase", "delta", "histogram_quantile",
    "topk", "bottomk", "abs", "clamp_min", "clamp_max", "and", "or", "unless", "on", "ignoring", "group_left",
    "group_right", "offset", "bool", "time", "vector", "scalar", "absent", "label_replace", "avg_over_time",
    "max_over_time", "min_over_time", "sum_over_time", "humanize", "humanizeDuration",
}  # fmt: skip


def queried_metrics(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (label matchers, groupings and functions removed)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if word in _FUNCTIONS_AND_KEYWORDS or following.startswith("("):
            continue
        names.add(word)
    return names


def label_matchers(expr: str) -> list[tuple[str, str, str, str]]:
    """(metric, label, operator, value) of every label matcher in a PromQL expression."""
    found = []
    for selector in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        for matcher in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:\\.|[^"\\])*)"', selector.group(2)):
            found.append((selector.group(1), matcher.group(1), matcher.group(2), matcher.group(3).replace("\\\\", "\\")))
    return found
