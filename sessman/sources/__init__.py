"""Credential sources: where each kind of profile gets its credentials.

One small class per kind (:mod:`.keys`, :mod:`.role`, :mod:`.sso`,
:mod:`.aws_profile`), all working in a :class:`~.base.Context`; the
:class:`~.broker.Broker` is that context, and what the manager asks.
"""

from __future__ import annotations

from .aws_profile import AwsProfileSource
from .base import Context, Source
from .broker import SOURCES, Broker
from .keys import KeysSource
from .role import RoleSource
from .sso import SsoSource

__all__ = [
    "SOURCES",
    "AwsProfileSource",
    "Broker",
    "Context",
    "KeysSource",
    "RoleSource",
    "Source",
    "SsoSource",
]
