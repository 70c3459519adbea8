"""Account lifecycle: rotate long-term keys, generate profiles for an Organization,
sign in to the console.

Each concern is its own module; they use :class:`~sessman.manager.SessionManager`
for profiles, secrets and sessions, and :mod:`sessman.profiles_text` to edit
the profiles file without losing its comments.
"""
