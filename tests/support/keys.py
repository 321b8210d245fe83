"""The one API key the tests configure, as the service's clients send it."""

from __future__ import annotations

API_KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}  # writes, exports, outbound, admin
MARKETER = ("marketer", API_KEY)  # the preview's HTTP Basic sign-in
