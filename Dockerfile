# cohortbot: a slim image, a non-root user, the database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    COHORTBOT_DB=/data/cohortbot.db \
    COHORTBOT_COHORT=/app/config/example-cohort.yaml \
    COHORTBOT_HTTP_HOST=0.0.0.0 \
    COHORTBOT_HTTP_PORT=3000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY schedules ./schedules
COPY config ./config
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app cohortbot \
    && mkdir -p /data && chown cohortbot /data

USER cohortbot
VOLUME ["/data"]
EXPOSE 3000

# Slack's HTTP mode answers GET /healthz; on Discord the check validates the cohort file and opens the database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request as u; \
p = os.environ.get('COHORTBOT_PLATFORM', 'discord'); \
sys.exit(0 if p != 'slack' else (0 if u.urlopen('http://127.0.0.1:%s/healthz' % os.environ['COHORTBOT_HTTP_PORT'], timeout=4).status == 200 else 1))" \
    && cohortbot check "$COHORTBOT_COHORT" > /dev/null

ENV COHORTBOT_PLATFORM=discord
CMD ["sh", "-c", "exec cohortbot run --platform \"$COHORTBOT_PLATFORM\" --cohort \"$COHORTBOT_COHORT\" --db \"$COHORTBOT_DB\""]
