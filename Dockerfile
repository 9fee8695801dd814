FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTAL_DATA_DIR=/data \
    PORTAL_HOST=0.0.0.0 \
    PORTAL_PORT=8080

WORKDIR /app

# Dependencies in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# pg_dump, pg_restore and psql: `backup create|restore|drill` of a PostgreSQL database.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --home-dir /app portal \
    && mkdir /data && chown portal:portal /data

COPY --chown=portal:portal portal/ portal/
COPY --chown=portal:portal templates/ templates/
COPY --chown=portal:portal static/ static/
COPY --chown=portal:portal wsgi.py .

USER portal
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORTAL_PORT', '8080'), timeout=4)"]

CMD ["python", "wsgi.py"]
