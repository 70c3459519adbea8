"""``sessman schema``: a valid draft 2020-12 schema that agrees with the loader.

The loader and the schema are both derived from sessman.fileformat; these tests
hold them to the same verdict on every file of the shared corpus, and on
mutations of a valid document, wherever JSON Schema can express the rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from support.bad_files import BAD_FILES, Bad
from support.cli import cli
from support.fuzz import FUZZ, base_document, dump, mutate, mutations
from support.profiles import GOOD_FILES, Good

from sessman.cli.profiles import STARTER
from sessman.config import parse_config
from sessman.errors import ConfigError
from sessman.fileformat import json_schema

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_BLIND = [b for b in BAD_FILES if not b.schema]
EXPRESSIBLE = [b for b in BAD_FILES if b.schema]


@pytest.fixture(scope="module")
def validator() -> Any:
    result = cli("schema")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    schema = json.loads(result.stdout)
    return jsonschema.Draft202012Validator(schema)


def test_schema_command_prints_a_draft_2020_12_schema() -> None:
    result = cli("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
    # Every key of the format is described, so editors can complete and explain it.
    profile = schema["$defs"]["profile"]["properties"]
    assert {"region", "access_key_id", "role_arn", "aws_profile", "retries"} <= set(profile)
    assert all(p.get("description") for p in profile.values())


def test_schema_command_takes_config_and_needs_no_file(tmp_path: Path) -> None:
    result = cli("schema", "--config", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()


def _document(text: str | bytes) -> Any:
    return yaml.safe_load(text)


def test_the_corpus_has_both_kinds() -> None:
    assert len(EXPRESSIBLE) >= 40
    assert {"source-cycle", "unset-variable", "duplicate-key", "invalid-yaml"} <= {
        b.id for b in SCHEMA_BLIND
    }


@pytest.mark.parametrize("bad", EXPRESSIBLE, ids=lambda b: b.id)
def test_schema_rejects_what_the_loader_rejects(bad: Bad, validator: Any) -> None:
    with pytest.raises(ConfigError):
        parse_config(bad.text, Path("bad.yaml"), env=bad.env)
    assert not validator.is_valid(_document(bad.text))


@pytest.mark.parametrize("bad", SCHEMA_BLIND, ids=lambda b: b.id)
def test_rules_json_schema_cannot_express(bad: Bad, validator: Any) -> None:
    """The loader alone catches these; documented, so that a change is noticed."""
    with pytest.raises(ConfigError):
        parse_config(bad.text, Path("bad.yaml"), env=bad.env)
    try:
        document = _document(bad.text)
    except (yaml.YAMLError, UnicodeDecodeError):
        return  # not even YAML: nothing for a schema to judge
    if bad.id in ("duplicate-key", "duplicate-profile", "duplicate-top-key"):
        # yaml.safe_load keeps the last of two equal keys; the schema never sees both.
        assert validator.is_valid(document)
        return
    if bad.id == "timeout-nan":
        return  # NaN is not JSON; what a validator does with it says nothing
    assert validator.is_valid(document), list(validator.iter_errors(document))


@pytest.mark.parametrize("good", GOOD_FILES, ids=lambda g: g.id)
def test_schema_accepts_what_the_loader_accepts(good: Good, validator: Any) -> None:
    parse_config(good.text, Path("good.yaml"), env=good.env)
    errors = list(validator.iter_errors(_document(good.text)))
    assert errors == []


def test_starter_file_of_init_validates(validator: Any) -> None:
    parse_config(STARTER, Path("starter.yaml"))
    assert validator.is_valid(_document(STARTER))


def _schema_blind(doc: Any) -> bool:
    """Documents where JSON Schema cannot agree with the loader, by design."""
    if isinstance(doc, float):
        return doc.is_integer() or not math.isfinite(doc)  # 1.0 is an integer; NaN is no JSON
    if isinstance(doc, str):
        return "${" in doc or "\n" in doc  # ${VAR} needs the environment; "$" before "\n"
    if isinstance(doc, dict):
        return any(_schema_blind(k) or _schema_blind(v) for k, v in doc.items())
    if isinstance(doc, list):
        return any(_schema_blind(v) for v in doc)
    return not isinstance(doc, str | int | bool | type(None))


def _loader_verdict(doc: Any) -> bool | None:
    """True/False: the loader accepts/refuses; None: a rule only the loader can check."""
    try:
        parse_config(dump(doc), Path("m.yaml"), env={})
    except ConfigError as exc:
        if exc.key == "source_profile" and ("unknown source" in str(exc) or "cycle" in str(exc)):
            return None
        return False
    return True


@FUZZ
@given(mutations)
def test_fuzz_schema_and_loader_agree(steps: list[tuple[str, int, str, Any]]) -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    doc = mutate(base_document(), steps)
    if _schema_blind(doc):
        return
    verdict = _loader_verdict(doc)
    if verdict is None:
        return
    assert validator.is_valid(doc) == verdict, (doc, list(validator.iter_errors(doc)))


def test_agreement_fuzz_sees_both_verdicts() -> None:
    # The property above means little if mutations were always (in)valid.
    assert _loader_verdict(base_document()) is True
    assert _loader_verdict(mutate(base_document(), [("set", 3, "", "mars-1")])) is False
