"""Where published offers are read from: the `OfferStore` interface, Redis and embedded stores,
the in-process fallback while Redis is down, and the one guard (circuit breaker and error
policy) every Redis call of the service goes through."""
