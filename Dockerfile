# The Podium API image: migrates the schema, then serves on 0.0.0.0:8000.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
COPY alembic.ini ./
RUN uv sync --frozen --no-dev && useradd --system --no-create-home podium
USER podium
ENV PATH="/app/.venv/bin:$PATH" PODIUM_HOST=0.0.0.0 PODIUM_PORT=8000 PODIUM_ENV=production
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "podium db upgrade && exec podium serve --workers ${PODIUM_WORKERS:-2}"]
