"""Structure before the model: items from signals, composed candidates, selection."""
