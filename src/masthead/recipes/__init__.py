"""Recipes: YAML DAGs of steps that turn one kind of signal into pieces."""
