"""The search for a secret in text: every form it could take (raw, URL-encoded, base64)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote


def forms(secret: str) -> set[str]:
    """The ways a secret could be written down: raw, escaped, base64 at any alignment."""
    raw = secret.encode()
    found = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        # Only the characters made of the secret's bytes alone, whatever surrounds it.
        core = encoded[4 * -(-pad // 3) : 4 * ((pad + len(raw)) // 3)]
        found |= {core, core.replace("+", "-").replace("/", "_")}
    return {f for f in found if len(f) >= 16}


def hits(text: str | bytes, secrets: set[str]) -> list[str]:
    """Which of ``secrets`` (in any of their forms) occur in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return sorted(s[:12] + "…" for s in secrets for f in forms(s) if f.encode() in data)
