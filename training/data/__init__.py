"""Purchases in, interactions out: load a file, clean it (rules counted), fold in feedback
events, leave forgotten customers out, and build the confidence weights."""
