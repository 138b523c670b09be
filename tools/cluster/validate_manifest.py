#!/usr/bin/env python3
"""Checks tools/cluster/relprop-indexed-job.yaml against the Kubernetes API schema and relprop's rules.

Schema: the models of the official Kubernetes Python client (PyPI `kubernetes`), generated from the
Kubernetes OpenAPI spec: every field name must exist in its object's type (V1Job, V1JobSpec, ...)
and every value must have the declared type (object, list, map, string, integer, boolean), checked
field by field with its path; then the client's own model (pydantic, strict) is built from the whole
manifest, which checks required fields, types and unknown fields of every nested object again. Then relprop's
rules: an Indexed Job, completions == parallelism == the shard count (RELPROP_SHARD_COUNT or
--shard auto/N), restartPolicy Never, and relprop run with --out-dir and --shard auto.

Needs PyPI's kubernetes and PyYAML (not in CI: no cluster or network needed, but the packages are
not Debian's):
    python3 -m venv /tmp/kv && /tmp/kv/bin/pip install kubernetes==37.0.2 pyyaml
    /tmp/kv/bin/python tools/cluster/validate_manifest.py tools/cluster/relprop-indexed-job.yaml
Prints one line per problem and "N passed, N failed"; exit status 1 if anything failed. The result of
the last run is committed beside the manifest (relprop-indexed-job.validation.txt).
"""
import re
import sys

import yaml
from kubernetes import client

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def check(value, type_name, path, errors):
    """Appends to `errors` every field of `value` that does not fit the client's type `type_name`."""
    if type_name == "object":
        return
    if type_name in PRIMITIVES:
        if not isinstance(value, PRIMITIVES[type_name]) or (type_name == "int" and isinstance(value, bool)):
            errors.append(f"{path}: expected {type_name}, got {type(value).__name__} {value!r}")
        return
    if type_name.startswith(("list[", "List[")):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            check(item, type_name[5:-1], f"{path}[{i}]", errors)
        return
    if type_name.startswith(("dict(", "Dict[")):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map")
            return
        inner = type_name[type_name.index(",") + 2:-1]
        for key, item in value.items():
            check(item, inner, f"{path}.{key}", errors)
        return
    cls = getattr(client, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({type_name})")
        return
    attr_of = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in attr_of:
            errors.append(f"{path}.{key}: no such field in {type_name}")
            continue
        check(item, cls.openapi_types[attr_of[key]], f"{path}.{key}", errors)


def construct(value, type_name, errors):
    """The client's own validation of the whole object (its models check required fields, types,
    enums and unknown fields of every nested object)."""
    cls = getattr(client, type_name)
    attr_of = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    try:
        cls(**{attr_of[k]: v for k, v in value.items() if k in attr_of})
    except (ValueError, TypeError) as e:
        errors.append(f"{type_name}: " + " / ".join(line.strip() for line in str(e).splitlines()
                                                   if not line.strip().startswith("For further information")))


def main(path):
    with open(path, encoding="utf-8") as f:
        job = yaml.safe_load(f)
    results = []

    def expect(what, ok):
        results.append((what, bool(ok)))

    expect("apiVersion batch/v1, kind Job", job.get("apiVersion") == "batch/v1" and job.get("kind") == "Job")
    errors = []
    check(job, "V1Job", "Job", errors)
    construct(job, "V1Job", errors)
    for e in errors:
        print("schema:", e)
    expect(f"schema of V1Job (kubernetes client {client.__version__ if hasattr(client, '__version__') else ''}): "
           f"{len(errors)} problem(s)", not errors)

    spec = job.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    containers = pod.get("containers", [])
    command = containers[0].get("command", []) if containers else []
    env = {e["name"]: e.get("value") for e in (containers[0].get("env", []) if containers else [])}
    shard = command[command.index("--shard") + 1] if "--shard" in command else ""
    count = re.fullmatch(r"auto/(\d+)", shard)
    count = int(count.group(1)) if count else int(env.get("RELPROP_SHARD_COUNT") or 0)
    expect("completionMode Indexed", spec.get("completionMode") == "Indexed")
    expect(f"completions ({spec.get('completions')}) == parallelism ({spec.get('parallelism')}) == shard count ({count})",
           spec.get("completions") == spec.get("parallelism") == count and count > 0)
    expect("restartPolicy Never (a failed pod is retried per index)", pod.get("restartPolicy") == "Never")
    expect("relprop explain ... --out-dir ... --shard auto", command[:2] == ["relprop", "explain"] and
           "--out-dir" in command and shard.startswith("auto"))
    mounts = [m.get("mountPath", "") for m in containers[0].get("volumeMounts", [])] if containers else []
    expect("the working folder is on the shared volume",
           any(m and containers[0].get("workingDir", "").startswith(m) for m in mounts))
    passed = sum(ok for _, ok in results)
    for what, ok in results:
        print(("ok: " if ok else "FAILED: ") + what)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "tools/cluster/relprop-indexed-job.yaml"))
