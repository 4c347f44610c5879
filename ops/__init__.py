"""Operator tooling: the development stack (`make run`) and the monitoring configuration."""
