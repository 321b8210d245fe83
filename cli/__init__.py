"""The `microoffers` command line: the entry point above `training` and `service`."""
