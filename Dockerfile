# syntax=docker/dockerfile:1
# Build stage: compile wheels once, so the runtime image carries no compiler.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip==25.3
COPY pyproject.toml README.md ./
COPY models ./models
COPY training ./training
COPY service ./service
COPY cli ./cli
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: slim, non-root, only the wheels and the artifacts to serve.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MICROOFFERS_ARTIFACTS=/app/artifacts \
    OPENBLAS_NUM_THREADS=1
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --chown=10001:10001 artifacts ./artifacts
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
CMD ["microoffers", "serve", "--artifacts", "/app/artifacts", "--host", "0.0.0.0", "--port", "8000"]
