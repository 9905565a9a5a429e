"""Metrics registered in mmglip (importing this registers them)."""
