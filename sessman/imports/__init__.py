"""Bringing existing keys into sessman: ``.env`` files, ~/.aws, and the writer both use."""
