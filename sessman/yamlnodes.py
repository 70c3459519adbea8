"""Reading YAML nodes for the profiles-file loader: lines kept for messages.

Merge keys resolved once each and budgeted, nesting depth bounded before
libyaml recurses, ``${VAR}`` expanded (and remembered, for the cache), every
error a :class:`~sessman.errors.ConfigError` naming file, line, profile, key.
The rules of the format are in :mod:`sessman.config`, which builds on this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .fileformat import ENV_REF
from .model import Config
from .secretvars import is_secret_variable

__all__ = ["ENV_RE", "NodeReader", "env_names"]

ENV_RE = re.compile(ENV_REF)
#: libyaml's C composer recurses once per nesting level and overflows the C
#: stack (a segfault) somewhere past 20,000 levels; refuse far earlier.
_MAX_DEPTH = 5000
#: Keys of mappings visited while resolving merge keys, at most, per file.
_MAX_VISITS = 100_000


def _name(match: re.Match[str]) -> str:
    """The variable of a ``${NAME}`` that :data:`ENV_RE` found."""
    return match.group(0)[2:-1]


def env_names(text: str) -> set[str]:
    """The names of the variables ``text`` references as ``${NAME}``."""
    return {_name(match) for match in ENV_RE.finditer(text)}


def literal_text(text: str) -> str:
    """``text`` as the loader will read it back unchanged: no ``${`` left to expand.

    The profiles file expands ``${VAR}`` in every string and has no escape
    for it, so text from outside (an account name a server sent) that holds
    ``${`` would leak an environment value, or stop the file loading when the
    variable is unset. It is written ``$ {``, which the loader takes literally.
    """
    return text.replace("${", "$ {")


class NodeReader:
    """The YAML half of the loader; subclasses say what a document means (``document``)."""

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
        # merge keys must not take exponential time.
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
            name = _name(match)
            if is_secret_variable(name):
                raise self.error(
                    f"${{{name}}} names a variable that holds a secret;"
                    " a profiles file may not reference it",
                    node,
                    profile=profile,
                    key=key,
                    hint="secrets live in the keyring: sessman secret set PROFILE",
                )
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

        return ENV_RE.sub(replace, value)

    def document(self, root: Any) -> Config:
        """The :class:`Config` that ``root`` (the composed document) describes."""
        raise NotImplementedError
