# TELEGLAS: one image for every process (listener, worker, beat, flower, manual bot, emulators).
# Pinned: the Python patch release and Debian release of the base, and every Python package (requirements.lock).
FROM python:3.11.14-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md requirements.lock celeryconfig.py flowerconfig.py ./
COPY teleglas ./teleglas
RUN pip install -c requirements.lock . && useradd --system --uid 10001 --home-dir /app teleglas
COPY workers ./workers
COPY bots ./bots
USER teleglas
CMD ["celery", "-A", "teleglas", "worker", "--loglevel", "INFO"]
