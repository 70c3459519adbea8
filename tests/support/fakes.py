"""The fake secrets every test uses, chosen to be recognisable wherever they leak."""

from __future__ import annotations

#: The recognisable fake long-term secret: it must never show up anywhere.
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSMANFAKE"
#: The passphrase of the encrypted file keyring each test runs with.
PASSPHRASE = "correct horse battery staple"
