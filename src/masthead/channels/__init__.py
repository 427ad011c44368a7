"""Channel rules, exact length counting and the deterministic checks run on every draft."""
