# issue-status-bot: the webhook server. Settings come from the environment (README.md, "Configuration").
#
# Python 3.11, the version CI tests (.ci/run). Dependencies are installed from requirements.lock, every
# file checked against its hash and only as a prebuilt wheel, so the same commit builds the same image.
# Pin the base image by digest too (python:3.11-slim-bookworm@sha256:...) for byte-identical rebuilds.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY templates ./templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_STATE_DIR=/var/lib/issue-status-bot PORT=8080
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin bot \
    && mkdir -p /var/lib/issue-status-bot && chown bot /var/lib/issue-status-bot
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes --only-binary :all: -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
USER bot
# The SQLite journal (and its state key) when DATABASE_URL is not set: keep it across containers.
# A bind mount must be writable by uid 10001, or the bot exits 2 naming BOT_STATE_DIR.
VOLUME ["/var/lib/issue-status-bot"]
EXPOSE 8080
# Liveness only (cheap, no I/O); a load balancer should ask /readyz, which fails while the journal is down.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=2)"]
# SIGTERM drains for up to 30 s (10 s for requests being read, 20 s for work in flight): stop with
# `docker stop -t 40` / `docker run --stop-timeout 40` (Docker's default of 10 s cuts the drain short;
# what is cut short stays journalled and is done after the restart).
CMD ["issue-status-bot", "serve"]
