"""``python -m chalicelib.cli``: the same as the ``helpdesk`` command."""

import sys

from chalicelib.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m chalicelib.cli"))
