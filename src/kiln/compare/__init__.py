"""Leaderboards: baselines, folds, and the summary of several runs."""
