"""Signed webhooks for a job's events (Standard Webhooks): the signing, which targets are safe,
the retry schedule, the deliveries outbox and the one attempt a worker makes."""
