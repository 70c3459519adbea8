"""Long-term keys read from ``.env`` files, for ``sessman import dotenv``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sessman.errors import UsageError

from .append import check_name

__all__ = ["ImportedKey", "read_dotenv"]


@dataclass(frozen=True)
class ImportedKey:
    """A long-term key found in another file, on its way into sessman."""

    name: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str | None = None

    def fields(self, source: str) -> list[tuple[str, str | int]]:
        """The keys and values of the new profile, in the order they are written."""
        fields: list[tuple[str, str | int]] = [("access_key_id", self.access_key_id)]
        if self.region:
            fields.append(("region", self.region))
        fields.append(("description", f"imported from {source}"))
        return fields


def read_dotenv(path: Path, name: str) -> ImportedKey:
    """The key pair of a ``.env`` file (also the AWS_ACCESS_KEY / AWS_SECRET_KEY spelling)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path.absolute()} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path.absolute()}: {type(exc).__name__}") from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value

    def first(*names: str) -> str | None:
        return next((values[n] for n in names if values.get(n)), None)

    key_id = first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
    secret = first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
    if key_id is None or secret is None:
        lacking = "AWS_ACCESS_KEY_ID" if key_id is None else "AWS_SECRET_ACCESS_KEY"
        raise UsageError(f"{path} sets no {lacking}")
    if values.get("AWS_SESSION_TOKEN"):
        raise UsageError(
            f"{path} holds temporary credentials (AWS_SESSION_TOKEN); import long-term keys"
        )
    region = first("AWS_REGION", "AWS_DEFAULT_REGION")
    return ImportedKey(check_name(name), key_id, secret, region)
