"""Transitions on disk: JSONL reading/writing and episode-level splits."""
