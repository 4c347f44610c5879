"""The real third-party chain: llama-cpp-python's server with Gemma 3 270M, behind a LiteLLM
proxy, with a recording reverse proxy between the two (`make test-compat`, `make run-local-model`).
"""
