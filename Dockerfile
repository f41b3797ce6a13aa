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

# Healthy while the bot's process runs; on Slack (either mode) GET /healthz must also answer 200.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD if [ "$COHORTBOT_PLATFORM" = slack ]; then cohortbot health --http; else cohortbot health; fi

ENV COHORTBOT_PLATFORM=discord
CMD ["sh", "-c", "exec cohortbot run --platform \"$COHORTBOT_PLATFORM\" --cohort \"$COHORTBOT_COHORT\" --db \"$COHORTBOT_DB\""]
