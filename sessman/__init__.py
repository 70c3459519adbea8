"""sessman: AWS sessions from a profiles file, secrets in the OS keyring."""

__version__ = "0.1.0"
