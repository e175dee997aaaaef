"""The method's math: SWIRL rewards and group-relative advantages (small, pure, tested by hand)."""
