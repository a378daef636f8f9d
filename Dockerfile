# konomi: the bot and its embedded training worker in one container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 konomi
WORKDIR /app

COPY pyproject.toml README.md config.toml ./
COPY bot ./bot
COPY model ./model
COPY storage ./storage
# The database goes to the /data volume, not next to the code.
RUN pip install . \
    && sed -i 's|^database = .*|database = "/data/konomi.sqlite3"|' config.toml \
    && mkdir -p /data && chown konomi:konomi /data

USER konomi
# The database lives on a volume; the token comes from the environment.
VOLUME ["/data"]
CMD ["python", "-m", "bot", "run", "--config", "/app/config.toml"]
