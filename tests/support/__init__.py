"""What the tests share besides fixtures, imported by absolute path (`from tests.support.keys import
AUTH`): paths, polling, the Redis server class, clocks, API keys, app and server factories, and the
synthetic shops. Fixtures stay in the conftest.py files, beside the tests that use them."""
