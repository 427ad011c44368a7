"""Project memory: embedder and vector-index ports with their adapters, scoring, packing,
summaries and the service that ties them to the event log.

Items and their changes are events (see `masthead.events.memory_types`); vectors live in a
cache table keyed by (item, embedding model) and in an in-memory index built from it.
"""
