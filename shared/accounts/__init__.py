"""Accounts: users, API tokens, per-user rate limits, token usage and budgets."""
