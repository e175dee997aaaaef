"""Environments that produce transitions ``(x, z, y)`` for training world models."""
