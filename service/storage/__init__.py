"""Where published offers are read from: the `OfferStore` interface, Redis and embedded stores,
the in-process fallback while Redis is down, and the circuit breaker in front of Redis."""
