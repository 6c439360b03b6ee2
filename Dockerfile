# One image for the worker and the receiver (and the app, over `docker compose run`).
FROM python:3.11-slim
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY adit_core adit_core
COPY adit_cli adit_cli
COPY adit_dev adit_dev
COPY adit_tui adit_tui
COPY adit_worker adit_worker
COPY adit_receiver adit_receiver
COPY schema schema
RUN uv sync --locked --no-dev
ENV PATH="/app/.venv/bin:$PATH"
ENTRYPOINT ["adit"]
