"""``python -m chalicelib.cli``: the same as the ``helpdesk`` command."""

import sys

from chalicelib.cli import main

sys.exit(main(prog="python -m chalicelib.cli"))
