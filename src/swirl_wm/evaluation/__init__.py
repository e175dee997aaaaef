"""Evaluation: metrics that compare generated states and actions with references."""
