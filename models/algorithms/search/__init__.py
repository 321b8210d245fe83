"""Exact top-k candidate search over inner products and blends, without scoring every item."""
