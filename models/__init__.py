"""Recommender algorithms and the shared domain contract. Imports no other project package."""
