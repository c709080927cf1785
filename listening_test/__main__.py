"""``python -m listening_test``: the same as the ``listening_test`` command."""

import sys

from .cli import main

sys.exit(main())
