"""Schemathesis hooks of the API fuzz run (loaded with SCHEMATHESIS_HOOKS; see bench.api_fuzz).

- Every generated `Idempotency-Key` is made unique: a key means "the same request again", so
  two different generated requests must not share one (the API answers that with 422, rightly).
- `refused_only_for_what_no_schema_says` narrows what a schema-valid request may be refused
  for. JSON Schema cannot say that an id must name an existing resource, that one field must
  come after another, or that a cursor must be one the API returned; the API answers those with
  400 (invalid-cursor) and 422 (the route's own checks, `unknown-*`, a validator comparing
  fields or the clock). `positive_data_acceptance` is configured to let 400 and 422 through
  (schemathesis.toml) and this check fails any other such refusal — above all a request model
  refusing a value for a constraint of its own (a length, a pattern, a range, an enum) that the
  document did not declare.
- `created_resource_is_readable`: a `201` with a `Location` leads to a resource the same caller
  can read (GET answers 200), whichever operation created it.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
import schemathesis

IDEMPOTENCY_KEY = "Idempotency-Key"
# Problem kinds that refuse a request for something outside any schema.
OUTSIDE_THE_SCHEMA = {"invalid-cursor", "invalid-characters", "reason-required", "idempotency-key-reused"}
# Pydantic error types of a validator's own rule (comparisons, the clock, the data): a schema
# can state them only in words. Every other type is a declarable constraint.
VALIDATOR_RULES = {"value_error", "assertion_error"}


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    key = headers.get(IDEMPOTENCY_KEY)
    if isinstance(key, str) and 1 <= len(key) <= 160 and key.isprintable() and key.isascii() and key.strip() == key:
        headers[IDEMPOTENCY_KEY] = f"{key}-{uuid.uuid4().hex}"


@schemathesis.check
def refused_only_for_what_no_schema_says(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    try:
        problem = response.json()
    except ValueError as exc:
        raise AssertionError(f"A schema-valid request was refused with {response.status_code} and no problem body") from exc
    kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
    if kind in OUTSIDE_THE_SCHEMA or kind.startswith("unknown-"):
        return None
    errors = [e for e in problem.get("errors") or [] if isinstance(e, dict)]
    declarable = [e for e in errors if "type" in e and e["type"] not in VALIDATOR_RULES]
    if response.status_code == 422 and not declarable:
        return None  # a validator's own rule, or the route's check against what is stored
    raise AssertionError(
        f"A schema-valid request was refused ({response.status_code} {kind}) for a constraint the document does not declare: "
        f"{problem.get('detail')} {declarable}"
    )


@schemathesis.check
def created_resource_is_readable(ctx: Any, response: Any, case: Any) -> bool | None:
    location = response.headers.get("location") if response.status_code == 201 else None
    if not location:
        return None
    if isinstance(location, list):
        location = location[0]
    request = response.request
    headers = {"Authorization": request.headers["Authorization"]} if "Authorization" in request.headers else {}
    url = urljoin(str(request.url), location)
    answer = httpx.get(url, headers=headers, timeout=30)
    if answer.status_code != 200:
        raise AssertionError(f"{case.operation.label} answered 201 with Location {location}, which answers {answer.status_code} to the same caller")
    return None
