"""The append-only event log: event shapes, the store protocol and its adapters."""

from masthead.events.model import Meta, NewEvent, StoredEvent
from masthead.events.store import EventStore, Transaction

__all__ = ["EventStore", "Meta", "NewEvent", "StoredEvent", "Transaction"]
