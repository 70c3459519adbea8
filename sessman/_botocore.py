"""How sessman builds botocore sessions cheaply, and feeds them credentials.

One data loader for the process (service models parsed once), botocore's
built-in event handlers registered once and copied into each session, and a
credential provider that asks the manager. Nothing here knows profiles.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LOCK", "ManagerCredentials", "close_client", "core_session", "shared_loader"]

_LOADER: Any = None
LOCK = threading.Lock()


def shared_loader() -> Any:
    """The process-wide botocore data loader: service models parsed once."""
    global _LOADER  # noqa: PLW0603
    with LOCK:
        if _LOADER is None:
            import boto3
            import botocore.loaders

            loader = botocore.loaders.create_loader()
            loader.search_paths.append(os.path.join(os.path.dirname(boto3.__file__), "data"))
            _LOADER = loader
        return _LOADER


_HANDLERS: tuple[tuple[int, ...], Any] | None = None


def _handlers() -> Any:
    """botocore's built-in event handlers, registered once and reused.

    Registered again whenever ``botocore.handlers.BUILTIN_HANDLERS`` changes:
    moto, for one, adds its handler there when it is imported, and sessions
    built after that must see it as plain botocore sessions do.
    """
    global _HANDLERS  # noqa: PLW0603
    from botocore import handlers

    stamp = tuple(map(id, handlers.BUILTIN_HANDLERS))
    with LOCK:
        if _HANDLERS is None or _HANDLERS[0] != stamp:
            import botocore.session
            from botocore.hooks import HierarchicalEmitter

            emitter = HierarchicalEmitter()
            botocore.session.Session(event_hooks=emitter)
            _HANDLERS = (stamp, emitter)
        return _HANDLERS[1]


#: botocore config variables fixed in sessman's own sessions, whatever the
#: environment says (public ``Session.set_config_variable`` names).
_ISOLATED: dict[str, object] = {
    "profile": None,
    "config_file": os.devnull,
    "credentials_file": os.devnull,
    "ignore_configured_endpoint_urls": True,
    "use_fips_endpoint": False,
    "use_dualstack_endpoint": False,
}


def core_session(aws_profile: str | None = None) -> Any:
    """A botocore session on the shared loader, for ``aws_profile`` or for none.

    With no AWS profile the session is isolated from the environment (SPEC
    section 4): ``AWS_PROFILE``, ``AWS_CONFIG_FILE``, the shared credentials
    file and every configured endpoint (``AWS_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL_<SERVICE>``, ``endpoint_url`` in ~/.aws/config) are
    ignored: sessman's sessions get their credentials, settings and endpoint
    from the profiles file alone. An ``aws_profile`` profile keeps botocore's
    own resolution, which is its whole point.
    """
    import botocore.session

    # botocore registers ~125 event handlers in every new session (~7 ms);
    # copying a set registered once costs a tenth of that.
    core = botocore.session.Session(
        profile=aws_profile,
        event_hooks=copy.copy(_handlers()),
        include_builtin_handlers=False,
    )
    if aws_profile is None:
        core.get_component("config_store").set_config_variable("profile", None)
        for name, value in _ISOLATED.items():
            core.set_config_variable(name, value)
    core.register_component("data_loader", shared_loader())
    return core


def close_client(obj: Any) -> None:
    client = getattr(getattr(obj, "meta", None), "client", obj)
    close = getattr(client, "close", None)
    if callable(close):
        close()


class ManagerCredentials:
    """A botocore credential provider that asks sessman, lazily and refreshably.

    ``metadata(name)`` returns what botocore's refreshable credentials want
    (access_key, secret_key, token, expiry_time); it is called on first use
    and whenever the credentials near their expiry.
    """

    METHOD = "sessman"
    CANONICAL_NAME = "sessman"

    def __init__(self, metadata: Callable[[str], dict[str, str | None]], name: str) -> None:
        self._metadata = metadata
        self._name = name

    def load(self) -> Any:
        from botocore.credentials import DeferredRefreshableCredentials

        metadata, name = self._metadata, self._name
        return DeferredRefreshableCredentials(
            refresh_using=lambda: metadata(name), method=self.METHOD
        )
