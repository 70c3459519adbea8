"""``python -m sessman``: the same as the ``sessman`` command."""

from sessman.cli import main

if __name__ == "__main__":
    main()
