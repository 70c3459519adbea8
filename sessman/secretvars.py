"""The environment variables that hold secrets, named in one place.

A profiles file may reference environment variables (``${NAME}``), and the
agent asks its clients for the ones the file references. Neither may reach
a variable that holds a secret: a shared or hostile profiles file could
otherwise copy the keyring passphrase or a secret key into an
``endpoint_url`` and send it away with the next signed request.
"""

from __future__ import annotations

__all__ = ["SECRET_VARIABLES", "is_secret_variable"]

#: Variables known to hold secrets (sessman's, and the AWS SDKs' own).
SECRET_VARIABLES = frozenset(
    {
        "SESSMAN_KEYRING_PASSPHRASE",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    }
)
#: Parts of a name that say its value is a secret, whatever the program.
_SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "PASSPHRASE", "PRIVATE_KEY", "CREDENTIAL")


def is_secret_variable(name: str) -> bool:
    """Whether ``name`` is, or by its name looks like, a variable that holds a secret."""
    upper = name.upper()
    return upper in SECRET_VARIABLES or any(word in upper for word in _SECRET_WORDS)
