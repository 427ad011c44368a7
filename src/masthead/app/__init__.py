"""The application layer: a workspace and the commands a person (CLI, web) can give it."""
