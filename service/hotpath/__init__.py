"""The hot path: `GET /recommend/{customer}` and `GET /personal-store/{customer}` answered by a
raw ASGI handler in front of FastAPI, with every concurrent request's Redis reads (and the
impressions they leave) sent as one pipeline per event-loop tick, and answers kept in process per
model version. Anything unusual (other parameters, errors, Redis trouble) goes the ordinary
FastAPI way, so the documented API and its validation stay the single definition.
"""
