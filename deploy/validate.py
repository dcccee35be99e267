"""Validates rendered objects offline: Kubernetes' own kinds against the JSON schemas of
kubernetes-validate (strict: an unknown field is an error), CloudNativePG's against the
openAPIV3Schema of its CRDs at the pinned version (made strict the same way), Strimzi's with the
validators compiled from its 0.49.0 CRDs (deploy/schemas/validate.mjs).

`python -m deploy.validate [values.yaml ...]` renders the chart and prints every problem.
"""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from deploy.tools import SCHEMAS_PACKAGE, cnpg_crds, kubernetes_version

STRIMZI_GROUP = "kafka.strimzi.io"
CNPG_GROUP = "postgresql.cnpg.io"


def _name(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _strict(schema: Any) -> Any:
    """The schema with additionalProperties false wherever an object lists its properties and
    allows nothing else (as the API server prunes unknown fields, a typo would vanish silently)."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def _cnpg_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the strict openAPIV3Schema of CloudNativePG's CRDs."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    directory = cnpg_crds()
    crd_files = sorted(directory.glob("*.yaml"))
    if not crd_files:
        raise FileNotFoundError(f"no CloudNativePG CRDs in {directory}: run deploy/scripts/install-tools.sh")
    for path in crd_files:
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            # metadata is checked by the API server's ObjectMeta rules, not the CRD's schema.
            schema.get("properties", {}).pop("metadata", None)
            strict = _strict(schema)
            strict.setdefault("properties", {})["metadata"] = {"type": "object"}
            schemas[(f"{crd['spec']['group']}/{version['name']}", kind)] = strict
    return schemas


def _validate_cnpg(obj: dict[str, Any]) -> list[str]:
    schema = _cnpg_schemas().get((obj["apiVersion"], obj["kind"]))
    if schema is None:
        return [f"{_name(obj)}: no CloudNativePG schema for {obj['apiVersion']}"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{_name(obj)}: {'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(obj)]


def _validate_kubernetes(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, kubernetes_version(), strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{_name(obj)}: {'/'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{_name(obj)}: {error}"]
    return []


def _validate_strimzi(objects: list[dict[str, Any]]) -> list[str]:
    if not objects:
        return []
    if not (SCHEMAS_PACKAGE / "node_modules").is_dir():
        raise FileNotFoundError(f"no Strimzi validators in {SCHEMAS_PACKAGE}: run deploy/scripts/install-tools.sh")
    result = subprocess.run(["node", "validate.mjs"], cwd=SCHEMAS_PACKAGE, input=json.dumps(objects), capture_output=True, text=True, timeout=120)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"the Strimzi validator failed: {result.stderr.strip()}")
    return [f"{problem['kind']}/{problem['name']}: {problem['error']}" for problem in json.loads(result.stdout)]


def problems(objects: Iterable[dict[str, Any]]) -> list[str]:
    """Every schema violation among the objects; empty when all are valid."""
    found: list[str] = []
    strimzi: list[dict[str, Any]] = []
    for obj in objects:
        group = obj.get("apiVersion", "").split("/")[0] if "/" in obj.get("apiVersion", "") else ""
        if group == STRIMZI_GROUP:
            strimzi.append(obj)
        elif group == CNPG_GROUP:
            found += _validate_cnpg(obj)
        else:
            found += _validate_kubernetes(obj)
    return found + _validate_strimzi(strimzi)


def main(argv: list[str] | None = None) -> int:
    from deploy.render import render

    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    objects = render(paths)
    found = problems(objects)
    for problem in found:
        print(problem)
    print(f"{len(objects)} objects, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
