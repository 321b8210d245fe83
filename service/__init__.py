"""The HTTP service: thin FastAPI routes over a small domain core, reading a Redis or embedded store."""
