"""Signal ingest: sources that arrive by themselves (feeds, analytics exports)."""
