"""Subcommands of the ``hafm`` CLI: one module per command group, each with ``register(sub)``."""
