"""Accounts: users, API tokens, and per-user rate limits."""
