# One image for every service; SERVICE picks which one runs (see docker-compose.yml).
FROM python:3.11-slim AS build
WORKDIR /src
COPY constraints.txt ./
COPY libs/common libs/common
COPY services services
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -c constraints.txt \
      libs/common $(for p in services/*/pyproject.toml; do dirname $p; done)

FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin wijkkracht
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 WK_HTTP_HOST=0.0.0.0
USER 10001
ARG SERVICE=identity
ENV SERVICE=${SERVICE}
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn --factory ${SERVICE}.main:create_app --host 0.0.0.0 --port ${WK_HTTP_PORT:-8000} --proxy-headers"]
