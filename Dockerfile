# The Caviar image: one image for the API, the workers and the migrations (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 caviar

# An editable install keeps `migrations/` next to `app/`, where `caviar db upgrade` looks for it
# (the `caviar` command finds `app/` at the source root, see caviar/_server/__init__.py).
WORKDIR /srv/caviar
COPY pyproject.toml setup.py README.md ./
COPY caviar ./caviar
COPY app ./app
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --editable . \
    && mkdir /data \
    && chown caviar:caviar /data

USER caviar
# The working directory is where the default SQLite file (.caviar/caviar.db) would go when
# DATABASE_URL is unset; compose sets DATABASE_URL to PostgreSQL.
WORKDIR /data
EXPOSE 8000

CMD ["caviar", "api", "--host", "0.0.0.0"]
