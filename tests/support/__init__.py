"""What the tests share, and nothing they run: constants, fakes, servers and helpers.

Test modules and ``conftest.py`` import from here (``from support.cli import
...``; ``tests/`` is on the import path, see ``pythonpath`` in pyproject.toml)
and never from one another, so each test module can move or go on its own.
No module here holds a test function. The pytest fixtures defined here are
made available by ``conftest.py`` (servers, agents) or imported by name by
the few modules that use them (the SSO setups).
"""
