"""Every private name of ``keyring`` that sessman uses, in one place.

keyring offers no public way to search the Secret Service by service name
(one round trip instead of one per profile), nor to tell whether it has
chosen a backend yet. These helpers use its internals and fail loudly,
naming what changed, when a keyring release renames them: a silent
fallback would give wrong answers (a stored secret listed as missing).
"""

from __future__ import annotations

from typing import Any

__all__ = ["KeyringChanged", "chosen_backend", "forget_chosen_backend", "secret_service_query"]


class KeyringChanged(RuntimeError):
    """A private name of keyring that sessman relies on is gone or changed shape."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"unexpected breakage of keyring's internals ({what}); this keyring"
            " release is not supported by this sessman: please report it"
        )


def secret_service_query(backend: Any, service: str) -> tuple[dict[str, str], str]:
    """The Secret Service search attributes for ``service`` and the username attribute.

    Both come from the backend's own scheme (``schemes[scheme]``), so a
    backend set to another scheme (KeePassXC's) is searched and read with
    the attribute names it really writes.
    """
    query = getattr(backend, "_query", None)
    schemes = getattr(backend, "schemes", None)
    scheme = getattr(backend, "scheme", None)
    if not callable(query) or not isinstance(schemes, dict) or scheme not in schemes:
        raise KeyringChanged("SecretService.Keyring._query / schemes / scheme")
    names = schemes[scheme]
    if not isinstance(names, dict) or "username" not in names:
        raise KeyringChanged("SecretService.Keyring.schemes[scheme]['username']")
    attributes = query(service)
    if not isinstance(attributes, dict):
        raise KeyringChanged("SecretService.Keyring._query's result")
    return attributes, str(names["username"])


def chosen_backend() -> Any:
    """The backend keyring has chosen so far, or ``None`` if it has not chosen one yet."""
    import keyring.core

    if not hasattr(keyring.core, "_keyring_backend"):
        raise KeyringChanged("keyring.core._keyring_backend")
    return keyring.core._keyring_backend


def forget_chosen_backend() -> None:
    """Make keyring choose its backend afresh on next use (as it does at start)."""
    import keyring.core

    if not hasattr(keyring.core, "_keyring_backend"):
        raise KeyringChanged("keyring.core._keyring_backend")
    keyring.core._keyring_backend = None
