"""Offline job: purchase files -> cleaned interactions -> trained model -> artifact -> Redis."""
