"""Agents: small workers with declared input/output models, a model tier and an allowed effect."""
