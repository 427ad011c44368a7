"""The `masthead` command line: one module per command group."""
