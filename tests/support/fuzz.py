"""Hypothesis strategies for profiles documents, and mutations of a valid one.

Shared by the loader's fuzz tests (test_config.py) and the JSON Schema tests
(test_schema.py), which must reach the same verdict on the same documents.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from support.profiles import KEY_ID, ROLE

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_ENV = {"REGION": "eu-west-1", "EMPTY": ""}

KNOWN_KEYS = sorted(
    {
        "version",
        "keyring_service",
        "keyring_backend",
        "defaults",
        "profiles",
        "region",
        "connect_timeout",
        "read_timeout",
        "retries",
        "mode",
        "max_attempts",
        "max_pool_connections",
        "session_duration",
        "endpoint_url",
        "description",
        "tags",
        "access_key_id",
        "role_arn",
        "source_profile",
        "external_id",
        "mfa_serial",
        "role_session_name",
        "aws_profile",
        "regoin",
        "password",
        "secret_access_key",
        "<<",
        "a",
        "b",
    }
)
INTERESTING = [
    None,
    True,
    False,
    0,
    1,
    -1,
    20,
    21,
    899,
    900,
    43200,
    43201,
    0.5,
    1.0,
    1e300,
    "",
    "us-east-1",
    "US-EAST-1",
    "legacy",
    "turbo",
    "a",
    "b",
    "c",
    "${REGION}",
    "${UNSET_X}",
    "${EMPTY}",
    KEY_ID,
    ROLE,
    "http://127.0.0.1:5000",
    "arn:aws:iam::123456789012:mfa/me",
    [],
    {},
    ["prod"],
    [[1]],
    {"mode": "standard"},
    {"max_attempts": 3},
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(INTERESTING),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


def base_document() -> dict[str, Any]:
    """A valid document (as YAML would load it) to mutate."""
    return {
        "version": 1,
        "keyring_service": "sessman",
        "defaults": {
            "region": "eu-central-1",
            "connect_timeout": 5,
            "retries": {"mode": "standard", "max_attempts": 4},
        },
        "profiles": {
            "a": {"access_key_id": KEY_ID, "tags": ["x", "y"], "description": "keys"},
            "b": {"source_profile": "a", "role_arn": ROLE, "session_duration": 900},
            "c": {
                "aws_profile": "sso",
                "region": "us-east-1",
                "retries": {"max_attempts": 20},
            },
        },
    }


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


mutations = st.lists(
    st.tuples(
        st.sampled_from(["drop", "rename", "set"]),
        st.integers(min_value=0, max_value=10_000),
        keys,
        documents,
    ),
    min_size=1,
    max_size=3,
)


def mutate(doc: Any, steps: list[tuple[str, int, str, Any]]) -> Any:
    """Apply drop/rename/retype steps to ``doc`` (in place) and return it."""
    for op, index, new_key, value in steps:
        paths = _paths(doc)
        if not paths:
            return value
        path = paths[index % len(paths)]
        parent, last = _parent(doc, path), path[-1]
        if op == "set":
            # A copy: hypothesis may hand the same object to two steps, and
            # setting it inside itself would make the document a cycle.
            parent[last] = copy.deepcopy(value)
        elif isinstance(parent, dict):
            moved = parent.pop(last)
            if op == "rename":
                parent[new_key] = moved
        else:
            del parent[last]
    return doc


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
