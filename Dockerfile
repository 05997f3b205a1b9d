# One image for every service of My Broker B3; the command picks the service:
#   docker run IMAGE serve identity      (default: serve router)
# docker-compose.yml runs the whole deployment from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project's packages (see [tool.setuptools] in pyproject.toml): installed, not
# editable, so the image needs no source tree at run time.
COPY pyproject.toml README.md ./
COPY mybroker ./mybroker
COPY launch ./launch
COPY router ./router
COPY subgraphs ./subgraphs
COPY ingest ./ingest
COPY b3-sim ./b3-sim
# The benchmarks (`mybroker bench NAME`) are a package of their own since they left the
# product packages; copied so the image keeps the commands it had.
COPY bench ./bench
RUN pip install . && rm -rf build *.egg-info

# Run as an unprivileged user; /data holds what a service keeps on disk (identity's
# signing key when MYBROKER_JWT_PRIVATE_KEY is not given).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin mybroker \
    && mkdir -p /data && chown mybroker:mybroker /data
USER mybroker

ENV MYBROKER_DATA_DIR=/data \
    MYBROKER_HOST=0.0.0.0
EXPOSE 4000 4001 4002 4003 4004 4005

ENTRYPOINT ["mybroker"]
CMD ["serve", "router"]
