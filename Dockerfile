# konomi: the bot with its embedded training worker (the default), or, built FROM a
# TensorFlow GPU image (compose.yaml's "gpu" profile), a Celery training worker.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 konomi
WORKDIR /app

# Dependencies first, read from pyproject.toml alone: a change to the code reuses this
# layer instead of installing TensorFlow again.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

COPY README.md config.toml ./
COPY bot ./bot
COPY model ./model
COPY storage ./storage
# The database and the heartbeat go to the /data volume, pool caches to /cache.
RUN pip install --no-cache-dir --no-deps . \
    && sed -i -e 's|^database = .*|database = "/data/konomi.sqlite3"|' \
        -e 's|^heartbeat_file = .*|heartbeat_file = "/data/konomi.heartbeat"|' \
        -e 's|^pool_cache = .*|pool_cache = "/cache/pools"|' config.toml \
    && sed -e 's|^backend = .*|backend = "celery"|' \
        -e 's|^broker_url = .*|broker_url = "redis://redis:6379/0"|' config.toml > config.celery.toml \
    && mkdir -p /data /cache && chown 10001:10001 /data /cache

USER 10001:10001
VOLUME ["/data", "/cache"]
ENV KONOMI_CONFIG=/app/config.toml
# Healthy while the bot's gateway is connected (it rewrites /data/konomi.heartbeat).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot", "health"]
CMD ["python", "-m", "bot", "run"]
