"""HTTP plumbing around the routes: dependencies, auth and rate limits, body limits, request
context and access logs, error mapping, and the JSON schemas of answers."""
