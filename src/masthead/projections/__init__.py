"""Read models derived from the log, the projector that keeps them current, and replay."""
