"""Model providers: one protocol, adapters beside it, a registry they all join the same way."""
