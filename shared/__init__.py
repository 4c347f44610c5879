"""Code that the api and the worker both use: settings, models, services, the upstream client."""
