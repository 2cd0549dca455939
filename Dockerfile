# One image for the whole platform: the pinned runtime stack, the shared package, the five
# services and the gateway. Each docker-compose service / Kubernetes Deployment picks its own
# working directory and command, e.g.
#
#   workdir /app/services/issuance   nameko run --config config.yml issuance.service:IssuanceService
#   workdir /app/services/issuance   alembic -c alembic.ini upgrade head
#   workdir /app                     python -m common.topology
#
# Build:  docker build -t voucher-platform:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONWARNINGS=ignore::Warning:nameko.cli.commands,ignore::Warning:nameko.containers,ignore::Warning:nameko.messaging,ignore::Warning:nameko.extensions

WORKDIR /app

# System packages: a CJK font, so that the monthly report's progress chart draws Chinese region names
# (services/statistics/stats/domain/workbook.py); the slim image has no fonts at all.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# matplotlib's font cache, built once here: the service user has no home to keep one in, and
# without it every statistics process would rescan the fonts before its first chart.
ENV MPLCONFIGDIR=/opt/matplotlib
RUN mkdir -p /opt/matplotlib && python -c "import matplotlib.font_manager" && chmod -R a+rX /opt/matplotlib

COPY common ./common
COPY services ./services
COPY gateway ./gateway
COPY sdk ./sdk
# --no-deps: every dependency is pinned in requirements.txt above. Not editable: the code is
# imported from site-packages, while config.yml, alembic.ini and migrations/ stay in /app.
RUN pip install --no-deps ./common \
        ./services/issuance ./services/redemption ./services/attendance \
        ./services/settlement ./services/statistics ./gateway ./sdk/python \
 && rm -rf ./common/build ./services/*/build ./gateway/build

RUN printf '%s\n' \
    'voucher-platform: one image for every service. Set a working directory and a command:' \
    '' \
    '  service     working dir              command' \
    '  issuance    /app/services/issuance   nameko run --config config.yml issuance.service:IssuanceService' \
    '  redemption  /app/services/redemption nameko run --config config.yml redemption.service:RedemptionService' \
    '  attendance  /app/services/attendance nameko run --config config.yml attendance.service:AttendanceService' \
    '  settlement  /app/services/settlement nameko run --config config.yml settlement.service:SettlementService' \
    '  statistics  /app/services/statistics nameko run --config config.yml stats.service:StatisticsService' \
    '  gateway     /app/gateway             nameko run --config config.yml gateway.service:GatewayService' \
    '' \
    '  migrations  the same working dir     alembic -c alembic.ini upgrade head' \
    '  queues      /app (after migrations)  python -m common.topology' \
    '' \
    'Environment: AMQP_URI, DATABASE_URL, WEB_SERVER_ADDRESS (0.0.0.0:<port>), PERSON_KEY_SECRET,' \
    'PII_ENCRYPTION_KEY. Ports: gateway 8000, issuance 8001, redemption 8002, attendance 8003,' \
    'settlement 8004, statistics 8005; each serves /health/live, /health/ready and /metrics.' \
    > /app/USAGE.txt

# A numeric, unprivileged user, so that Kubernetes' runAsNonRoot can verify it.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
USER 10001:10001

EXPOSE 8000 8001 8002 8003 8004 8005

# nameko is PID 1 in every container (exec form), so it receives SIGTERM and drains its workers.
CMD ["cat", "/app/USAGE.txt"]
