FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY teleglas ./teleglas
COPY workers ./workers
RUN pip install --no-cache-dir . && useradd --system --uid 10001 teleglas
USER teleglas
CMD ["celery", "-A", "teleglas", "worker", "--loglevel", "INFO"]
