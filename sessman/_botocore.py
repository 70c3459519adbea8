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
from datetime import datetime
from typing import Any

__all__ = [
    "LOCK",
    "PROVIDER_NAME",
    "close_client",
    "core_session",
    "deferred_credentials",
    "expiry_of",
    "manager_credentials",
    "profile_session",
    "shared_loader",
]

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

    With no AWS profile the session is isolated from the environment:
    ``AWS_PROFILE``, ``AWS_CONFIG_FILE``, the shared credentials
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


#: Where endpoint_url sits among the positional parameters of boto3.Session.client/resource.
_ENDPOINT_POSITION = 5
_SESSION_CLASS: Any = None


def profile_session(core: Any, region: str, endpoint_url: str | None) -> Any:
    """A ``boto3.Session`` whose clients and resources default to ``endpoint_url``.

    ``session.client("s3")`` then reaches the profile's endpoint exactly as
    the manager's own ``client(name, "s3")`` does; an explicit
    ``endpoint_url=`` still wins.
    """
    global _SESSION_CLASS  # noqa: PLW0603
    if _SESSION_CLASS is None:
        import boto3

        class ProfileSession(boto3.Session):  # type: ignore[misc]
            """A boto3 Session of one sessman profile (see :func:`profile_session`)."""

            sessman_endpoint_url: str | None = None

            def client(self, *args: Any, **kwargs: Any) -> Any:
                if len(args) <= _ENDPOINT_POSITION and "endpoint_url" not in kwargs:
                    kwargs["endpoint_url"] = self.sessman_endpoint_url
                return super().client(*args, **kwargs)

            def resource(self, *args: Any, **kwargs: Any) -> Any:
                if len(args) <= _ENDPOINT_POSITION and "endpoint_url" not in kwargs:
                    kwargs["endpoint_url"] = self.sessman_endpoint_url
                return super().resource(*args, **kwargs)

        _SESSION_CLASS = ProfileSession
    session = _SESSION_CLASS(botocore_session=core, region_name=region)
    session.sessman_endpoint_url = endpoint_url
    return session


def close_client(obj: Any) -> None:
    client = getattr(getattr(obj, "meta", None), "client", obj)
    close = getattr(client, "close", None)
    if callable(close):
        close()


#: What botocore calls sessman's credentials: a provider not built into
#: botocore must have a canonical name starting with "custom".
PROVIDER_NAME = "custom-sessman"
_PROVIDER_CLASS: Any = None


def manager_credentials(
    metadata: Callable[[str], dict[str, str | None]], name: str, windows: tuple[float, float]
) -> Any:
    """A botocore ``CredentialProvider`` that asks sessman, lazily and refreshably.

    ``metadata(name)`` returns what botocore's refreshable credentials want
    (access_key, secret_key, token, expiry_time); it is called on first use
    and whenever the credentials near their expiry. ``windows`` is the
    (advisory, mandatory) refresh margin in seconds: botocore's own 15/10
    minutes would make a 900 s session refresh on every request. The class
    is built on first use, so importing this module never imports botocore.
    """
    global _PROVIDER_CLASS  # noqa: PLW0603
    with LOCK:
        if _PROVIDER_CLASS is None:
            from botocore.credentials import CredentialProvider

            class ManagerCredentials(CredentialProvider):  # type: ignore[misc]
                """sessman's credentials of one profile (see :func:`manager_credentials`)."""

                METHOD = PROVIDER_NAME
                CANONICAL_NAME = PROVIDER_NAME

                def __init__(
                    self,
                    metadata: Callable[[str], dict[str, str | None]],
                    name: str,
                    windows: tuple[float, float],
                ) -> None:
                    super().__init__()
                    self._metadata = metadata
                    self._name = name
                    self._windows = windows

                def load(self) -> Any:
                    metadata, name = self._metadata, self._name
                    return deferred_credentials(lambda: metadata(name), self.METHOD, self._windows)

            _PROVIDER_CLASS = ManagerCredentials
        return _PROVIDER_CLASS(metadata, name, windows)


#: The class attributes of botocore's RefreshableCredentials that hold its
#: refresh margins. Its constructor takes them, but the deferred variant
#: (credentials fetched on first use, not when a client is built) does not.
_WINDOW_ATTRIBUTES = ("_advisory_refresh_timeout", "_mandatory_refresh_timeout")


def deferred_credentials(
    refresh: Callable[[], dict[str, str | None]], method: str, windows: tuple[float, float]
) -> Any:
    """botocore DeferredRefreshableCredentials with refresh margins of our own.

    Fails loudly, instead of silently refreshing on every request, if a
    botocore release renames the attributes that hold the margins.
    """
    from botocore.credentials import DeferredRefreshableCredentials, RefreshableCredentials

    missing = [a for a in _WINDOW_ATTRIBUTES if not hasattr(RefreshableCredentials, a)]
    if missing:
        raise RuntimeError(
            "this botocore has no RefreshableCredentials."
            + ", ".join(missing)
            + ": sessman cannot set refresh windows; pin an earlier botocore and report it"
        )
    advisory, mandatory = windows
    if not 0 <= mandatory <= advisory:
        raise ValueError(f"refresh windows must be 0 <= mandatory <= advisory, not {windows}")
    creds = DeferredRefreshableCredentials(refresh_using=refresh, method=method)
    setattr(creds, _WINDOW_ATTRIBUTES[0], advisory)
    setattr(creds, _WINDOW_ATTRIBUTES[1], mandatory)
    return creds


def expiry_of(credentials: Any) -> datetime | None:
    """When botocore credentials expire, or ``None`` for credentials that never do.

    botocore keeps the expiry of refreshable credentials (SSO, a
    credential_process, roles) only in a private field. Read here, never
    changed, and failing loudly if a release renames it: a silent ``None``
    would turn temporary credentials into keys with no expiry.
    """
    from botocore.credentials import RefreshableCredentials

    if not isinstance(credentials, RefreshableCredentials):
        return None
    if not hasattr(credentials, "_expiry_time"):
        raise RuntimeError(
            "this botocore has no RefreshableCredentials._expiry_time: sessman cannot"
            " read when credentials expire; pin an earlier botocore and report it"
        )
    expiry = credentials._expiry_time
    if expiry is not None and not isinstance(expiry, datetime):
        raise RuntimeError(
            "botocore's RefreshableCredentials._expiry_time is no longer a datetime;"
            " pin an earlier botocore and report it"
        )
    return expiry
