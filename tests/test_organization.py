"""`sessman generate organization`: a role profile per ACTIVE account, comments kept.

Against a moto_server of this module's own with an Organization: accounts
created with tags, moved into nested OUs, one closed; the generated profiles
are then used for real (AssumeRole into OrganizationAccountAccessRole).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from support.cli import assert_error_line, cli, edit_while_locked
from support.fakes import FAKE_SECRET
from support.infra import MotoServer
from support.proxies import Reject, proxying

from sessman.lifecycle.organization import generate_organization
from sessman.manager import SessionManager
from sessman.secretstore import session_user

ROLE = "OrganizationAccountAccessRole"
MANAGEMENT = "123456789012"
_EMAILS = itertools.count(1)

PROFILES = """\
# company profiles: this comment must survive
version: 1
defaults:
  region: eu-west-1   # a default region
profiles:
  mgmt:                    # the management account's keys
    access_key_id: AKIAEXAMPLEMGMT00001
    endpoint_url: {url}
    region: us-east-1
  # hand-written below
  org-sales:               # mine, not generated
    access_key_id: AKIAEXAMPLESALES0001
"""


@dataclass(frozen=True)
class Org:
    """The organization in moto, and the accounts the tests look for."""

    client: Any
    root: str
    platform: str
    accounts: dict[str, str]  # account name -> id (ACTIVE ones)
    closed: str


def create_account(client: Any, name: str, tags: dict[str, str] | None = None) -> str:
    status = client.create_account(
        Email=f"acct{next(_EMAILS)}@example.com",
        AccountName=name,
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )["CreateAccountStatus"]
    return str(status["AccountId"])


@pytest.fixture(scope="module")
def org(own_moto_server: MotoServer) -> Iterator[Org]:
    client = boto3.client(
        "organizations",
        region_name="us-east-1",
        endpoint_url=own_moto_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.closing(client):
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        eng = client.create_organizational_unit(ParentId=root, Name="Engineering")
        eng_id = eng["OrganizationalUnit"]["Id"]
        platform = client.create_organizational_unit(ParentId=eng_id, Name="Platform Team")
        platform_id = platform["OrganizationalUnit"]["Id"]
        accounts = {
            "Sales": create_account(client, "Sales", {"team": "sales", "cost center": "42"}),
            "Platform Prod": create_account(client, "Platform Prod", {"env": "prod"}),
            "Data": create_account(client, "Data"),
        }
        client.move_account(
            AccountId=accounts["Platform Prod"],
            SourceParentId=root,
            DestinationParentId=platform_id,
        )
        closed = create_account(client, "Old Closed")
        client.close_account(AccountId=closed)
        yield Org(client, root, platform_id, accounts, closed)


class Files:
    """A profiles file with the management account's keys, and a CLI on it."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.url = url
        self.path = tmp_path / "profiles.yaml"
        self.path.write_text(PROFILES.format(url=url))
        stored = self.cli("secret", "set", "mgmt", "--stdin", input=FAKE_SECRET + "\n")
        assert stored.exit_code == 0, stored.stderr

    def cli(self, *args: str, input: str | None = None) -> Any:
        return cli(*args, input=input, config=self.path, never=[FAKE_SECRET], checked=True)

    def ok(self, *args: str) -> Any:
        result = self.cli(*args)
        assert result.exit_code == 0, result.stderr
        return result

    def generate(self, *args: str) -> dict[str, Any]:
        result = self.ok("generate", "organization", "mgmt", "--role", ROLE, "--json", *args)
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def profiles(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(self.path.read_text())["profiles"]
        return data


@pytest.fixture
def files(tmp_path: Path, own_moto_server: MotoServer, org: Org) -> Files:
    return Files(tmp_path, own_moto_server.url)


def test_every_active_account_gets_a_role_profile_sourced_from_source(
    files: Files, org: Org
) -> None:
    before = files.path.read_text()
    data = files.generate("--prefix", "org-", "--tag-from", "ou", "--tag-from", "tags")
    profiles = files.profiles()
    generated = {n: p for n, p in profiles.items() if p.get("generated_by")}
    by_account = {p["role_arn"].split(":")[4]: n for n, p in generated.items()}
    # every ACTIVE account (the management account too), never the closed one
    assert set(by_account) == {*org.accounts.values(), MANAGEMENT}
    assert org.closed not in by_account
    for name, account_id in org.accounts.items():
        p = generated[by_account[account_id]]
        assert p["role_arn"] == f"arn:aws:iam::{account_id}:role/{ROLE}"
        assert p["source_profile"] == "mgmt" and p["description"] == name
        assert p["generated_by"] == "organization:mgmt"
        assert (p["region"], p["endpoint_url"]) == ("us-east-1", files.url)
    assert by_account[org.accounts["Platform Prod"]] == "org-platform-prod"
    assert generated["org-platform-prod"]["tags"] == [
        "Engineering",
        "Engineering/Platform-Team",
        "env=prod",
    ]
    # "org-sales" is the user's own profile: the Sales account moves aside
    assert by_account[org.accounts["Sales"]] == f"org-sales-{org.accounts['Sales']}"
    assert profiles["org-sales"] == {"access_key_id": "AKIAEXAMPLESALES0001"}
    assert generated[f"org-sales-{org.accounts['Sales']}"]["tags"] == [
        "cost-center=42",
        "team=sales",
    ]
    assert sorted(data["added"]) == sorted(generated)
    # the file: what was there is there, byte for byte, comments included
    text = files.path.read_text()
    assert text.startswith(before)
    # a generated profile works: AssumeRole into the member account
    who = json.loads(files.ok("whoami", "org-data", "--json").stdout)
    assert who["account"] == org.accounts["Data"]
    assert f":assumed-role/{ROLE}/" in who["arn"]


def test_running_again_changes_nothing(files: Files) -> None:
    first = files.generate("--tag-from", "ou")
    text = files.path.read_text()
    again = files.generate("--tag-from", "ou")
    assert files.path.read_text() == text
    assert again["added"] == again["updated"] == again["removed"] == []
    assert sorted(again["unchanged"]) == sorted(first["added"])


def test_tags_changed_in_the_organization_update_only_generated_profiles(
    files: Files, org: Org
) -> None:
    files.generate()
    org.client.tag_resource(ResourceId=org.accounts["Data"], Tags=[{"Key": "tier", "Value": "1"}])
    try:
        data = files.generate("--tag-from", "tags")
    finally:
        org.client.untag_resource(ResourceId=org.accounts["Data"], TagKeys=["tier"])
    assert "data" in data["updated"]
    assert files.profiles()["data"]["tags"] == ["tier=1"]
    assert files.path.read_text().startswith("# company profiles: this comment must survive\n")


def test_pages_are_all_read(tmp_path: Path, own_moto_server: MotoServer, org: Org) -> None:
    files = Files(tmp_path, own_moto_server.url)
    with SessionManager.load(files.path) as manager:
        result = generate_organization(manager, "mgmt", ROLE, prefix="p-", page_size=1)
    assert {a.id for a in result.profiles.values()} >= {*org.accounts.values(), MANAGEMENT}


def test_dry_run_writes_nothing(files: Files) -> None:
    before = files.path.read_bytes()
    data = files.generate("--dry-run")
    assert data["dry_run"] is True and "data" in data["added"]
    assert files.path.read_bytes() == before
    text = files.ok("generate", "organization", "mgmt", "--role", ROLE, "--dry-run").stdout
    assert "would add data" in text and "nothing written" in text


def test_prune_removes_only_generated_profiles_whose_account_left(
    tmp_path: Path, own_moto_server: MotoServer, org: Org
) -> None:
    leaving = create_account(org.client, "Leaving")
    kept = create_account(org.client, "Kept Source")
    files = Files(tmp_path, own_moto_server.url)
    files.generate()
    with files.path.open("a") as fh:  # the user's own role on top of a generated profile
        fh.write(
            "  uses-kept:\n    source_profile: kept-source\n"
            "    role_arn: arn:aws:iam::123456789012:role/Other\n"
        )
    assert {"leaving", "kept-source"} <= set(files.profiles())
    org.client.remove_account_from_organization(AccountId=leaving)
    org.client.remove_account_from_organization(AccountId=kept)
    without = files.generate()
    assert without["removed"] == [] and "leaving" in files.profiles()
    pruned = files.generate("--prune")
    assert pruned["removed"] == ["leaving"]
    profiles = files.profiles()
    assert "leaving" not in profiles
    assert "kept-source" in profiles  # another profile uses it as source_profile
    assert [s["name"] for s in pruned["skipped"]] == ["kept-source"]
    assert profiles["org-sales"] == {"access_key_id": "AKIAEXAMPLESALES0001"}
    assert "# hand-written below" in files.path.read_text()


def test_a_profile_without_the_marker_is_never_rewritten(files: Files) -> None:
    files.generate()
    text = files.path.read_text()
    # The user takes over "data": the marker goes, the description changes.
    mine = text.replace("    generated_by: organization:mgmt\n", "", 1)
    first = mine.index('description: "')
    mine = mine[:first] + 'description: "mine"  # edited\n' + mine[mine.index("\n", first) + 1 :]
    files.path.write_text(mine)
    owned = next(n for n, p in files.profiles().items() if p.get("description") == "mine")
    data = files.generate()
    assert owned not in data["updated"] + data["removed"]
    assert 'description: "mine"  # edited' in files.path.read_text()


def test_generated_by_is_part_of_the_format(files: Files) -> None:
    files.generate()
    shown = json.loads(files.ok("show", "data", "--json").stdout)
    assert shown["generated_by"] == "organization:mgmt"
    schema = json.loads(files.ok("schema").stdout)
    assert "generated_by" in schema["$defs"]["profile"]["properties"]


def test_bad_input_is_one_line_and_exit_2(files: Files) -> None:
    before = files.path.read_bytes()
    for args, needle in (
        (["--role", "bad role!"], "is not an IAM role name"),
        (["--role", ROLE, "--prefix", "-x"], "--prefix '-x'"),
        (["--role", ROLE, "--tag-from", "color"], "--tag-from"),
        ([], "--role"),
    ):
        result = files.cli("generate", "organization", "mgmt", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert_error_line(result, contains=needle, notes=False)
    unknown = files.cli("generate", "organization", "nope", "--role", ROLE)
    assert unknown.exit_code == 2 and "no profile 'nope'" in unknown.stderr
    assert files.path.read_bytes() == before


def test_a_source_without_a_secret_is_one_line_exit_1(files: Files) -> None:
    before = files.path.read_bytes()
    with SessionManager.load(files.path) as manager:
        assert manager.store.delete("mgmt")
    result = files.cli("generate", "organization", "mgmt", "--role", ROLE)
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [
        "sessman: error: no secret access key stored for profile 'mgmt'",
        f"hint: store one with: sessman secret set mgmt --config {files.path}",
    ]
    assert files.path.read_bytes() == before


def test_prune_closes_the_removed_profiles_session(
    tmp_path: Path, own_moto_server: MotoServer, org: Org
) -> None:
    leaving = create_account(org.client, "Session Leaving")
    files = Files(tmp_path, own_moto_server.url)
    files.generate()
    files.ok("open", "session-leaving", "data")
    manager = SessionManager.load(files.path)
    assert manager.store.get(session_user("session-leaving")) is not None
    assert manager.state.get("session-leaving") is not None
    org.client.remove_account_from_organization(AccountId=leaving)
    pruned = files.generate("--prune")
    assert pruned["removed"] == ["session-leaving"]
    assert pruned["closed"] == ["session-leaving"]
    manager = SessionManager.load(files.path)
    assert manager.store.get(session_user("session-leaving")) is None
    assert manager.state.get("session-leaving") is None
    assert manager.state.get("data") is not None  # the others stay open


def test_what_the_user_added_to_a_generated_profile_stays(files: Files, org: Org) -> None:
    files.generate()
    text = files.path.read_text()
    start = text.index("  data:\n")
    marker = "    generated_by: organization:mgmt\n"
    end = text.index(marker, start)
    mine = (
        "    # my MFA device\n"
        "    mfa_serial: arn:aws:iam::123456789012:mfa/me   # mine\n"
        "    session_duration: 900\n"
    )
    files.path.write_text(text[:end] + mine + text[end:])
    again = files.generate()
    assert "data" in again["unchanged"]  # the user's keys are not a change
    org.client.tag_resource(ResourceId=org.accounts["Data"], Tags=[{"Key": "tier", "Value": "2"}])
    try:
        data = files.generate("--tag-from", "tags")
    finally:
        org.client.untag_resource(ResourceId=org.accounts["Data"], TagKeys=["tier"])
    assert "data" in data["updated"]
    profile = files.profiles()["data"]
    assert profile["tags"] == ["tier=2"]
    assert profile["mfa_serial"] == "arn:aws:iam::123456789012:mfa/me"
    assert profile["session_duration"] == 900
    assert mine in files.path.read_text()


def test_mfa_code_is_checked_and_used_only_when_asked_for(files: Files) -> None:
    before = files.path.read_bytes()
    for code in ("12345", "1234567", "abcdef", "12 456", "１２３４５６"):
        result = files.cli("generate", "organization", "mgmt", "--role", ROLE, "--mfa-code", code)
        assert result.exit_code == 2, (code, result.stderr)
        # The one check of an MFA code (credentials.check_mfa_code), as for open and exec.
        assert_error_line(result, contains="six digits")
    assert files.path.read_bytes() == before
    # Spaces around the code are dropped, as everywhere else a code is taken.
    data = files.generate("--mfa-code", " 123456")
    assert "data" in data["added"]
    # mgmt has no mfa_serial: no session was opened with the code
    assert SessionManager.load(files.path).state.get("mgmt") is None


def test_an_xml_error_body_is_one_line_of_code_and_message(
    tmp_path: Path, own_moto_server: MotoServer, org: Org
) -> None:
    with proxying(own_moto_server.url) as proxy:
        files = Files(tmp_path, proxy.url)
        proxy.rule = lambda action, key: (
            Reject("AccessDeniedException", "You may not &amp; cannot list", 400)
            if action == "ListAccounts"
            else None
        )
        result = files.cli("generate", "organization", "mgmt", "--role", ROLE)
    assert result.exit_code == 1
    assert_error_line(result, contains="(AccessDeniedException: You may not & cannot list)")
    assert "<" not in result.stderr


@pytest.mark.slow
def test_generate_waits_for_another_edit_and_keeps_it(files: Files) -> None:
    added = "  held:\n    access_key_id: AKIAEXAMPLEHHHHHHHHH\n"
    edit_while_locked(files.path, added, ["generate", "organization", "mgmt", "--role", ROLE])
    profiles = files.profiles()
    assert profiles["held"] == {"access_key_id": "AKIAEXAMPLEHHHHHHHHH"}
    assert profiles["data"]["generated_by"] == "organization:mgmt"


def test_an_account_name_with_a_variable_reference_is_written_literally(
    tmp_path: Path, own_moto_server: MotoServer, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = create_account(org.client, "Odd ${HOME} Name")
    try:
        files = Files(tmp_path, own_moto_server.url)
        files.generate()
        monkeypatch.delenv("HOME", raising=False)  # the file must load without it
        shown = files.ok("show", "odd-home-name", "--json")
    finally:
        org.client.remove_account_from_organization(AccountId=odd)
    assert json.loads(shown.stdout)["description"].startswith("Odd $ {HOME} Name")
