"""Conversations: their records, TTL expiry, and their history as input items."""
