"""Which AWS partition a region belongs to, and that partition's public hosts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Partition", "partition_of"]


@dataclass(frozen=True)
class Partition:
    """A partition's name (as in ARNs) and its console hosts."""

    name: str
    signin: str
    console: str

    @property
    def federation(self) -> str:
        """The federation endpoint (getSigninToken, login)."""
        return f"https://{self.signin}/federation"

    def console_home(self, region: str) -> str:
        """The console's home page in ``region``."""
        return f"https://{self.console}/console/home?region={region}"


_AWS = Partition("aws", "signin.aws.amazon.com", "console.aws.amazon.com")
_GOV = Partition("aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com")
_CN = Partition("aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn")


def partition_of(region: str) -> Partition:
    """The partition of ``region`` (``cn-*``: aws-cn, ``us-gov-*``: aws-us-gov, else aws)."""
    if region.startswith("cn-"):
        return _CN
    if region.startswith("us-gov-"):
        return _GOV
    return _AWS
