"""Python client library and command-line client for the gateway HTTP API."""
