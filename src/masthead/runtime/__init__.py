"""Orchestration: job planning, task claims with leases, step execution, gates and retries."""
