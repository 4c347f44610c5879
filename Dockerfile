# One image for every process of the gateway: api, worker, beat, migrate and the offline upstream.
# docker-compose.yml picks the process with `command`; the default is the API.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve the locked dependencies into /app/.venv with uv ---------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install uv==0.13.9

WORKDIR /app

# Dependencies first, on their own layer: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself (hatchling needs README.md for the metadata).
COPY README.md ./
COPY api ./api
COPY worker ./worker
COPY shared ./shared
COPY offline_openai ./offline_openai
COPY offline_weather ./offline_weather
COPY client ./client
RUN uv sync --frozen --no-dev \
    && python -m compileall -q api worker shared offline_openai offline_weather client

# --- runtime: the venv and the sources, no build tools, a non-root user -----------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app

WORKDIR /app
# The venv's python links to /usr/local/bin/python3 of the same base image, so it moves as is;
# the project is installed editable, pointing at these sources in /app.
COPY --from=build /app /app
# The code stays root-owned and read-only to the app; only data/ (the SQLite default) is writable.
RUN mkdir -p /app/data && chown app:app /app/data

USER app

EXPOSE 8000 8089

CMD ["gunicorn", "-c", "python:api.gunicorn_config", "--bind", "0.0.0.0:8000", "api:create_app()"]
