"""Load the profiles file into frozen, validated values.

The rules come from :mod:`sessman.fileformat`; this module applies them to a
YAML document and says, for anything wrong, the file, the line, the profile
and the key. Nothing here imports boto3 or keyring, and no value read here is
ever a secret: the file is refused when it tries to hold one.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from . import fileformat as fmt
from .errors import ConfigError, ProfileNotFound, UsageError
from .locations import config_candidates

__all__ = [
    "BUILTIN_DEFAULTS",
    "Config",
    "Profile",
    "Retries",
    "SsoSession",
    "find_config",
    "load_config",
    "parse_config",
    "parse_config_tracked",
    "read_profiles",
]

Kind = Literal["keys", "role", "aws-profile", "sso"]

#: What a profile gets when neither it nor ``defaults:`` says otherwise.
#: boto3's own 60 s connect timeout hangs a shell for a minute on a dead
#: network; these fail fast and retry the way the AWS CLI v2 does.
BUILTIN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "connect_timeout": 10,
        "read_timeout": 60,
        "retries": {"mode": "standard", "max_attempts": 3},
        "max_pool_connections": 10,
        "session_duration": 3600,
    }
)

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PROFILE_NAME_RE = re.compile(fmt.PROFILE_NAME_PATTERN)
_TAG_RE = re.compile(fmt.TAG_PATTERN)
_MAX_BYTES = 16 * 1024 * 1024
#: libyaml's C composer recurses once per nesting level and overflows the C
#: stack (a segfault) somewhere past 20,000 levels; refuse far earlier.
_MAX_DEPTH = 5000
#: Keys of mappings visited while resolving merge keys, at most, per file.
_MAX_VISITS = 100_000
#: Values never quoted in messages: a secret pasted there must not be echoed.
_UNQUOTED = frozenset({"access_key_id", "external_id"})
#: Scopes of an IAM Identity Center client registration when the file names
#: none: this one is what makes the service issue refresh tokens.
DEFAULT_SSO_SCOPES = ("sso:account:access",)


@dataclass(frozen=True)
class Retries:
    """Retry policy: ``max_attempts`` counts every attempt, the first included."""

    mode: str = "standard"
    max_attempts: int = 3


@dataclass(frozen=True)
class SsoSession:
    """An IAM Identity Center sign-in (``sso_sessions:``): where and how to log in."""

    name: str
    start_url: str
    region: str
    registration_scopes: tuple[str, ...] = DEFAULT_SSO_SCOPES
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Profile:
    """One validated profile, with ``defaults:`` and the built-in defaults merged in."""

    name: str
    kind: Kind
    region: str
    connect_timeout: float
    read_timeout: float
    retries: Retries
    max_pool_connections: int
    session_duration: int
    description: str | None = None
    tags: tuple[str, ...] = ()
    access_key_id: str | None = None
    role_arn: str | None = None
    source_profile: str | None = None
    external_id: str | None = None
    mfa_serial: str | None = None
    role_session_name: str | None = None
    sso_session: str | None = None
    sso_account_id: str | None = None
    sso_role_name: str | None = None
    aws_profile: str | None = None
    endpoint_url: str | None = None
    generated_by: str | None = None


@dataclass(frozen=True)
class Config:
    """A whole profiles file: where it is, its keyring settings and its profiles."""

    path: Path
    keyring_service: str = "sessman"
    keyring_backend: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=lambda: MappingProxyType({}))
    sso_sessions: Mapping[str, SsoSession] = field(default_factory=lambda: MappingProxyType({}))

    def sso_session(self, name: str) -> SsoSession:
        """The ``sso_sessions:`` entry ``name``, or a usage error listing the others."""
        try:
            return self.sso_sessions[name]
        except KeyError:
            known = ", ".join(self.sso_sessions) or "none"
            raise UsageError(
                f"no sso session {name!r} in {self.path} (sso_sessions: {known})",
                hint=_did_you_mean(name, self.sso_sessions),
            ) from None

    def profile(self, name: str) -> Profile:
        """Return the profile called ``name`` or raise :class:`ProfileNotFound`."""
        try:
            return self.profiles[name]
        except KeyError:
            raise ProfileNotFound(
                f"no profile {name!r} in {self.path}", hint=_did_you_mean(name, self.profiles)
            ) from None

    def names(self, tag: str | None = None) -> list[str]:
        """Profile names in file order, only those tagged ``tag`` when given."""
        return [n for n, p in self.profiles.items() if tag is None or tag in p.tags]


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the profiles file to use: ``path``, else the first candidate that exists."""
    if path is not None:
        return Path(path).expanduser().absolute()
    candidates = config_candidates()
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        f"no profiles file found (tried {tried})",
        hint="create one with: sessman init  (or pass --config PATH, or set SESSMAN_CONFIG)",
    )


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read and validate the profiles file at ``path`` (or the discovered one)."""
    where = find_config(path)
    return parse_config(read_profiles(where), where, env)


def read_profiles(where: Path) -> bytes:
    """The bytes of the profiles file at ``where``, or a ConfigError saying why not.

    A file (or directory) that another user could change is refused with
    :class:`~sessman.errors.UnsafePath` (see :func:`sessman.trust.check_profiles_file`).
    """
    from .trust import check_profiles_file

    try:
        with open(where, "rb") as fh:
            st = os.fstat(fh.fileno())
            check_profiles_file(where, st)
            data = fh.read(_MAX_BYTES + 1) if st.st_size <= _MAX_BYTES else b""
            if st.st_size > _MAX_BYTES or len(data) > _MAX_BYTES:
                raise ConfigError(f"file is larger than {_MAX_BYTES // 2**20} MiB", path=str(where))
    except FileNotFoundError:
        raise ConfigError(
            "profiles file not found", path=str(where), hint="create one with: sessman init"
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a profiles file", path=str(where)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(where)) from None
    return data


def parse_config(data: bytes | str, path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Validate the text of a profiles file; ``path`` is only used in messages."""
    return _Loader(path, os.environ if env is None else env).load(data)


def parse_config_tracked(
    data: bytes | str, path: Path, env: Mapping[str, str] | None = None
) -> tuple[Config, frozenset[str]]:
    """:func:`parse_config`, plus the names of the ``${VAR}`` it really expanded.

    A cache of the result depends on exactly those variables (a reference in
    a comment expands nothing, one in a merged value may expand once).
    """
    loader = _Loader(path, os.environ if env is None else env)
    config = loader.load(data)
    return config, frozenset(loader.expanded)


def _did_you_mean(word: str, choices: Any) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class _Loader:
    """Turns YAML nodes into a :class:`Config`, remembering lines for messages."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env
        self.expanded: set[str] = set()
        self.expanded_pairs: dict[int, dict[str, Any]] = {}
        self.visits = 0

    def error(
        self,
        message: str,
        node: Any = None,
        *,
        profile: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(
            message, path=str(self.path), line=line, profile=profile, key=key, hint=hint
        )

    # -- YAML -------------------------------------------------------------

    def load(self, data: bytes | str) -> Config:
        import yaml

        loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            if isinstance(data, bytes):
                data = data.decode("utf-8-sig")
            self.check_depth(data, loader_cls)
            root = yaml.compose(data, Loader=loader_cls)
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or "invalid YAML"
            raise ConfigError(f"invalid YAML: {problem}", path=str(self.path), line=line) from None
        except (yaml.YAMLError, ValueError, RecursionError) as exc:
            raise ConfigError(f"invalid YAML: {type(exc).__name__}", path=str(self.path)) from None
        if root is None:
            raise self.error("the file is empty", hint="start from: sessman init")
        return self.document(root)

    def check_depth(self, text: str, loader_cls: Any) -> None:
        """Refuse collections nested more than ``_MAX_DEPTH`` deep before composing."""
        import yaml

        # A cheap upper bound first: flow nesting needs a bracket per level,
        # block nesting a column per level (two with a sequence under a key).
        longest = max(map(len, text.split("\n")))
        if text.count("[") + text.count("{") + 2 * (longest + 1) <= _MAX_DEPTH:
            return
        depth = 0
        for event in yaml.parse(text, Loader=loader_cls):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise ConfigError(
                        f"nested more than {_MAX_DEPTH} levels deep",
                        path=str(self.path),
                        line=line,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1

    def mapping(self, node: Any, what: str, *, profile: str | None = None) -> dict[str, Any]:
        """Return {key: (key_node, value_node)} of a YAML mapping, refusing duplicates.

        Merge keys (``<<: *base``) are resolved as YAML says: the mapping's own
        keys win over merged ones, and an earlier merged mapping over a later
        one. The nodes are not modified, so a mapping can be read again.
        """
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping", node, profile=profile)
        try:
            return dict(self.pairs(node, what, profile, frozenset()))
        except RecursionError:
            raise self.error("merge keys (<<) nested too deeply", node, profile=profile) from None

    def pairs(
        self, node: Any, what: str, profile: str | None, within: frozenset[int]
    ) -> dict[str, Any]:
        import yaml

        # Each mapping is expanded once, whatever the number of aliases to it,
        # and the nodes visited are budgeted: a few hundred bytes of nested
        # merge keys must not take exponential time (SPEC section 1).
        done = self.expanded_pairs.get(id(node))
        if done is not None:
            return done
        self.visits += len(node.value)
        if self.visits > _MAX_VISITS:
            raise self.error(
                f"merge keys (<<) and aliases expand to more than {_MAX_VISITS} keys",
                node,
                profile=profile,
            )
        own: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    if not isinstance(source, yaml.MappingNode) or id(source) in within:
                        raise self.error(
                            "invalid merge key (<<): it takes a mapping or a list of mappings",
                            key_node,
                            profile=profile,
                        )
                    inner = self.pairs(source, what, profile, within | {id(node)})
                    for key, pair in inner.items():
                        merged.setdefault(key, pair)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":null"):
                raise self.error(f"{what} keys must be names", key_node, profile=profile)
            key = str(key_node.value)
            if key in own:
                raise self.error(f"duplicate key in {what}", key_node, profile=profile, key=key)
            own[key] = (key_node, value_node)
        for key, pair in merged.items():
            own.setdefault(key, pair)
        self.expanded_pairs[id(node)] = own
        return own

    def scalar(self, node: Any, *, profile: str | None, key: str) -> Any:
        import yaml

        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return node
        try:
            value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise self.error("unreadable value", node, profile=profile, key=key) from None
        if isinstance(value, str):
            value = self.expand(value, node, profile=profile, key=key)
        return value

    def expand(self, value: str, node: Any, *, profile: str | None, key: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise self.error(
                    f"environment variable ${{{name}}} is not set",
                    node,
                    profile=profile,
                    key=key,
                    hint=f"export {name}=... or write the value in the file",
                )
            self.expanded.add(name)
            return self.env[name]

        return _ENV_RE.sub(replace, value)

    # -- the format -------------------------------------------------------

    def document(self, root: Any) -> Config:
        top = self.mapping(root, "the file")
        known = {f.name: f for f in fmt.TOP_FIELDS}
        self.check_keys(top, known, profile=None)
        values = {
            name: self.value(known[name], v, profile=None)
            for name, (_, v) in top.items()
            if name not in ("defaults", "profiles", "sso_sessions")
        }
        sso_sessions = self.sso_sessions(top["sso_sessions"][1]) if "sso_sessions" in top else {}
        defaults: dict[str, Any] = {}
        if "defaults" in top:
            _, node = top["defaults"]
            entries = self.mapping(node, "defaults")
            allowed = {f.name: f for f in fmt.DEFAULTABLE}
            self.check_keys(entries, allowed, profile=None, section="defaults")
            defaults = {
                k: (kn, self.value(allowed[k], v, profile=None)) for k, (kn, v) in entries.items()
            }
        if "profiles" not in top:
            raise self.error("no 'profiles:' section", root, hint="start from: sessman init")
        _, profiles_node = top["profiles"]
        raw_profiles = self.mapping(profiles_node, "profiles")
        if not raw_profiles and not sso_sessions:  # with SSO, `sso populate` fills it
            raise self.error("'profiles:' is empty", profiles_node)
        profiles: dict[str, Profile] = {}
        for name, (name_node, node) in raw_profiles.items():
            if not _PROFILE_NAME_RE.fullmatch(name):
                raise self.error(
                    "invalid profile name: use letters, digits, '.', '_' and '-',"
                    " starting with a letter or digit",
                    name_node,
                    profile=name,
                )
            profiles[name] = self.profile(name, name_node, node, defaults)
        self.check_sources(profiles, raw_profiles)
        self.check_sso_references(profiles, raw_profiles, sso_sessions)
        return Config(
            path=self.path,
            keyring_service=values.get("keyring_service", "sessman"),
            keyring_backend=values.get("keyring_backend"),
            profiles=MappingProxyType(profiles),
            sso_sessions=MappingProxyType(sso_sessions),
        )

    def sso_sessions(self, node: Any) -> dict[str, SsoSession]:
        """The ``sso_sessions:`` map, each entry checked against the format."""
        entries = self.mapping(node, "sso_sessions")
        known = {f.name: f for f in fmt.SSO_SESSION_FIELDS}
        out: dict[str, SsoSession] = {}
        for name, (name_node, value_node) in entries.items():
            what = f"sso session {name!r}"
            if not _PROFILE_NAME_RE.fullmatch(name):
                raise self.error(
                    f"invalid {what} name: use letters, digits, '.', '_' and '-',"
                    " starting with a letter or digit",
                    name_node,
                )
            fields = self.mapping(value_node, what)
            self.check_keys(fields, known, profile=None, section=what)
            values = {k: self.value(known[k], v, profile=None) for k, (_, v) in fields.items()}
            for required in fmt.SSO_SESSION_REQUIRED:
                if required not in values:
                    raise self.error(f"{what} has no {required}", name_node, key=required)
            if "registration_scopes" in values:
                values["registration_scopes"] = tuple(values["registration_scopes"])
            out[name] = SsoSession(name=name, **values)
        return out

    def strings(self, spec: fmt.Field, node: Any, *, profile: str | None) -> tuple[str, ...]:
        """A list of strings, each matching the field's pattern."""
        import yaml

        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.error("must be a non-empty list", node, profile=profile, key=spec.name)
        items: list[str] = []
        for item in node.value:
            value = self.scalar(item, profile=profile, key=spec.name)
            if not isinstance(value, str) or not re.fullmatch(spec.pattern or ".+", value):
                raise self.error(
                    f"{getattr(item, 'value', '')!r} is not a valid entry",
                    item,
                    profile=profile,
                    key=spec.name,
                )
            if value not in items:
                items.append(value)
        return tuple(items)

    def check_sso_references(
        self,
        profiles: Mapping[str, Profile],
        raw: Mapping[str, Any],
        sso_sessions: Mapping[str, SsoSession],
    ) -> None:
        """Every ``sso_session`` a profile names is an entry of ``sso_sessions:``."""
        for name, profile in profiles.items():
            if profile.sso_session is None or profile.sso_session in sso_sessions:
                continue
            node = self.mapping(raw[name][1], name, profile=name)["sso_session"][1]
            raise self.error(
                f"unknown sso session {profile.sso_session!r}",
                node,
                profile=name,
                key="sso_session",
                hint=_did_you_mean(profile.sso_session, sso_sessions)
                or "add it under sso_sessions: (start_url, region)",
            )

    def check_keys(
        self,
        entries: dict[str, Any],
        known: Mapping[str, fmt.Field],
        *,
        profile: str | None,
        section: str | None = None,
    ) -> None:
        for key, (key_node, _) in entries.items():
            if key.lower() in fmt.SECRET_KEYS:
                raise self.error(
                    "secrets never go in the profiles file",
                    key_node,
                    profile=profile,
                    key=key,
                    hint="remove it and store the secret with: sessman secret set "
                    + (profile or "NAME"),
                )
            if key not in known:
                where = f" in {section}" if section else ""
                raise self.error(
                    f"unknown key{where}",
                    key_node,
                    profile=profile,
                    key=key,
                    hint=_did_you_mean(key, known),
                )

    def value(self, spec: fmt.Field, node: Any, *, profile: str | None) -> Any:
        """Check one value against its :class:`~sessman.fileformat.Field`."""
        key = spec.name
        value = self.scalar(node, profile=profile, key=key)

        def bad(message: str) -> ConfigError:
            return self.error(message, node, profile=profile, key=key)

        if spec.kind == "mapping":
            return node
        if spec.kind == "account":
            return self.account(spec, node, value, profile=profile)
        if spec.kind == "string":
            if not isinstance(value, str) or not value:
                raise bad("must be a non-empty string")
            if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
                # Quote the text as written, never what ${VAR} expanded to, and
                # nothing of a key id field: a pasted secret must not be echoed.
                shown = "" if key in _UNQUOTED else f"{node.value!r} "
                raise bad(f"{shown}is not a valid {key.replace('_', ' ')}")
            return value
        if spec.kind in ("number", "integer"):
            integer = spec.kind == "integer"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (integer and not isinstance(value, int))
            ):
                raise bad(f"must be {'a whole number' if integer else 'a number'}")
            if not math.isfinite(value):
                raise bad("must be a finite number")
            if spec.choices is not None and value not in spec.choices:
                raise bad(f"must be one of {', '.join(map(str, spec.choices))}")
            if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
                raise bad(f"must be greater than {spec.exclusive_minimum:g}")
            low, high = spec.minimum, spec.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                if low is not None and high is not None:
                    raise bad(f"must be between {low:g} and {high:g}")
                raise bad(
                    f"must be at most {high:g}" if high is not None else f"must be >= {low:g}"
                )
            return value
        if spec.kind == "tags":
            return self.tags(node, profile=profile)
        if spec.kind == "strings":
            return self.strings(spec, node, profile=profile)
        return self.retries(node, profile=profile)

    def account(self, spec: fmt.Field, node: Any, value: Any, *, profile: str | None) -> str:
        """A 12-digit account id: a string, or an unquoted YAML integer of twelve digits."""
        low, high = fmt.ACCOUNT_RANGE
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return str(value)
        if not isinstance(value, str) or not re.fullmatch(spec.pattern or "", value):
            raise self.error(
                "must be a 12-digit account id",
                node,
                profile=profile,
                key=spec.name,
                hint=f'quote it, leading zeros included: {spec.name}: "012345678901"',
            )
        return value

    def tags(self, node: Any, *, profile: str | None) -> tuple[str, ...]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.error("must be a list of tags", node, profile=profile, key="tags")
        tags: list[str] = []
        for item in node.value:
            tag = self.scalar(item, profile=profile, key="tags")
            if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
                written = item.value if isinstance(item, yaml.ScalarNode) else tag
                raise self.error(
                    f"invalid tag {written!r}: use letters, digits and _.:/=+-",
                    item,
                    profile=profile,
                    key="tags",
                )
            if tag not in tags:
                tags.append(tag)
        return tuple(tags)

    def retries(self, node: Any, *, profile: str | None) -> dict[str, Any]:
        entries = self.mapping(node, "retries", profile=profile)
        out: dict[str, Any] = {}
        for key, (key_node, value_node) in entries.items():
            if key.lower() in fmt.SECRET_KEYS:
                raise self.error(
                    "secrets never go in the profiles file",
                    key_node,
                    profile=profile,
                    key=f"retries.{key}",
                    hint="remove it and store the secret with: sessman secret set "
                    + (profile or "NAME"),
                )
            value = self.scalar(value_node, profile=profile, key=f"retries.{key}")
            if key == "mode":
                if value not in fmt.RETRY_MODES:
                    raise self.error(
                        f"must be one of {', '.join(fmt.RETRY_MODES)}",
                        value_node,
                        profile=profile,
                        key="retries.mode",
                    )
            elif key == "max_attempts":
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
                    raise self.error(
                        "must be a whole number from 1 to 20",
                        value_node,
                        profile=profile,
                        key="retries.max_attempts",
                    )
            else:
                raise self.error(
                    "unknown key in retries",
                    key_node,
                    profile=profile,
                    key=f"retries.{key}",
                    hint=_did_you_mean(key, ("mode", "max_attempts")),
                )
            out[key] = value
        return out

    def profile(
        self, name: str, name_node: Any, node: Any, defaults: Mapping[str, tuple[Any, Any]]
    ) -> Profile:
        entries = self.mapping(node, f"profile {name!r}", profile=name)
        known = {f.name: f for f in fmt.PROFILE_FIELDS}
        self.check_keys(entries, known, profile=name)
        own = {k: self.value(known[k], v, profile=name) for k, (_, v) in entries.items()}

        for key, needs in (
            ("source_profile", "role_arn"),
            ("external_id", "role_arn"),
            ("role_session_name", "role_arn"),
            *((key, "sso_session") for key in fmt.SSO_PROFILE_KEYS),
        ):
            if key in own and needs not in own:
                raise self.error(f"only goes with {needs}", entries[key][0], profile=name, key=key)
        sources = [s for s in fmt.CREDENTIAL_SOURCES if s in own]
        if len(sources) != 1:
            message = (
                f"sets {' and '.join(sources)}: choose one credential source"
                if sources
                else "has no credential source"
            )
            raise self.error(
                message,
                entries[sources[1]][0] if len(sources) > 1 else name_node,
                profile=name,
                key=sources[1] if len(sources) > 1 else None,
                hint="set exactly one of access_key_id, role_arn (+ source_profile), aws_profile,"
                " sso_session (+ sso_account_id, sso_role_name)",
            )
        source = sources[0]
        if source == "role_arn" and "source_profile" not in own:
            raise self.error(
                "a role needs source_profile: the profile whose credentials assume it",
                entries["role_arn"][0],
                profile=name,
                key="source_profile",
            )
        if source == "sso_session":
            for key in fmt.SSO_PROFILE_KEYS:
                if key not in own:
                    raise self.error(
                        f"an sso_session profile needs {key}",
                        entries["sso_session"][0],
                        profile=name,
                        key=key,
                    )
            if "mfa_serial" in own:
                raise self.error(
                    "IAM Identity Center asks for MFA at sign-in: sso profiles take no mfa_serial",
                    entries["mfa_serial"][0],
                    profile=name,
                    key="mfa_serial",
                )
        if source == "aws_profile" and "mfa_serial" in own:
            raise self.error(
                "set MFA in ~/.aws/config for aws_profile profiles",
                entries["mfa_serial"][0],
                profile=name,
                key="mfa_serial",
            )

        merged: dict[str, Any] = dict(BUILTIN_DEFAULTS)
        merged.update({k: v for k, (_, v) in defaults.items()})
        merged["retries"] = {**BUILTIN_DEFAULTS["retries"], **merged.get("retries", {})}
        if "retries" in own:
            merged["retries"] = {**merged["retries"], **own.pop("retries")}
        merged.update(own)
        if "region" not in merged:
            raise self.error(
                "no region (set region: in the profile or under defaults:)",
                name_node,
                profile=name,
                key="region",
            )
        merged["retries"] = Retries(**merged["retries"])
        kind: Kind = {
            "access_key_id": "keys",
            "role_arn": "role",
            "aws_profile": "aws-profile",
            "sso_session": "sso",
        }[source]  # type: ignore[assignment]
        return Profile(name=name, kind=kind, **merged)

    def check_sources(self, profiles: Mapping[str, Profile], raw: Mapping[str, Any]) -> None:
        for name, profile in profiles.items():
            if profile.source_profile is None:
                continue
            node = self.mapping(raw[name][1], name, profile=name)["source_profile"][1]
            if profile.source_profile not in profiles:
                raise self.error(
                    f"unknown source profile {profile.source_profile!r}",
                    node,
                    profile=name,
                    key="source_profile",
                    hint=_did_you_mean(profile.source_profile, profiles),
                )
            chain = [name]
            current = profile
            while current.source_profile is not None:
                if current.source_profile in chain:
                    cycle = " -> ".join([*chain, current.source_profile])
                    raise self.error(
                        f"source profiles form a cycle: {cycle}",
                        node,
                        profile=name,
                        key="source_profile",
                    )
                chain.append(current.source_profile)
                current = profiles[current.source_profile]
