"""Reporting: the run's plot, Markdown report and the atomic file writes they share."""
