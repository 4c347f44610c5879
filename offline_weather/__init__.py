"""A deterministic offline stand-in for Open-Meteo's geocoding and forecast APIs, for the
`get_weather` tool when there is no internet (`python -m offline_weather`)."""
