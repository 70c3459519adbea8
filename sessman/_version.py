"""The one version number of sessman, read by the build backend and ``--version``.

A leaf module: it imports nothing, so reading the version never loads the package.
"""

__version__ = "0.1.0"
