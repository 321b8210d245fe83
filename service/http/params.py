"""Bounds of the query parameters that both the FastAPI routes and the hot path read.

The hot path parses `k` itself and hands anything out of bounds to the route, which refuses it
with the documented 422; written once here, the two cannot disagree on where that line is.
"""

from __future__ import annotations

DEFAULT_K = 10  # items when `k` is not given, on both pages
MIN_K = 1
MAX_RECOMMEND_K = 100  # GET /recommend/{id} and POST /recommend/batch
MAX_STORE_K = 50  # GET /personal-store/{id}, per section
