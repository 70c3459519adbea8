"""The sessman agent: unlock the file keyring once, hand out secrets over a private socket.

- :mod:`.protocol`: the line-delimited JSON spoken on the socket, and where
  the socket lives;
- :mod:`.client`: what sessman processes use to ask the agent (no keyring,
  no cryptography, no boto3 imported);
- :mod:`.server`: the agent process itself (what it holds, how it answers);
- :mod:`.listen`: its socket (private modes, stale sockets) and memory hardening;
- :mod:`.lookup`: its answer to ``credential-process`` (a stored session);
- :mod:`.daemon`: starting it detached, with the passphrase handed over on
  a pipe (never in argv or the environment).
"""
