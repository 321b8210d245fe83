"""Ranking metrics: pure functions over ranked lists and held-out purchases."""
