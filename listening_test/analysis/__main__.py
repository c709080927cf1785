"""``python -m listening_test.analysis analyze|simulate``."""

from listening_test.analysis.cli import main

raise SystemExit(main())
