# One image for every part of UPR Tracker; docker-compose.yml picks the part with `command:`.
#
#   docker build -t upr-tracker .
#   docker run --rm upr-tracker                      # prints how to run each part
#   faststream run services.tracker.app:app --host 0.0.0.0 --port 8001     (8002 ingest, 8003 notifier)
#   streamlit run ui/app.py --server.port 8501 --server.address 0.0.0.0
#   upr topics create
#
# Configuration comes only from UPR_* environment variables (README, "Configuration").

# ---- build: dependencies first (cached until pyproject.toml changes), then the project ----
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml ./
# The runtime dependencies listed in pyproject.toml, without the project's own code, so that
# a code change does not reinstall them.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --upgrade pip \
    && pip install -r /tmp/requirements.txt

# .dockerignore lets through only what the image needs (the packages, pyproject.toml, README.md,
# .streamlit/); -p makes the copy below work whether or not the UI's config is in the tree.
COPY . ./
RUN pip install --no-deps . \
    && mkdir -p /src/.streamlit

# ---- runtime ----
FROM python:3.11-slim

# fonts-khmeros: Khmer text in charts and exported reports renders as text, not empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-khmeros fontconfig \
    && fc-cache -f \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 upr \
    && useradd --system --uid 10001 --gid upr --create-home --home-dir /home/upr upr

COPY --from=build /opt/venv /opt/venv
# The Streamlit entry script and its page files are run from paths, not imported by name,
# so the UI's sources sit in /app as well (PYTHONPATH makes /app/ui the `ui` package that
# Streamlit's page paths point at). Services, contracts and the CLI come from the venv.
WORKDIR /app
COPY --from=build --chown=root:root /src/ui ./ui
COPY --from=build --chown=root:root /src/.streamlit ./.streamlit

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib

USER upr

EXPOSE 8001 8002 8003 8501

CMD ["python", "-c", "print('''UPR Tracker image. Run one part per container:\n  faststream run services.tracker.app:app --host 0.0.0.0 --port 8001\n  faststream run services.ingest.app:app --host 0.0.0.0 --port 8002\n  faststream run services.notifier.app:app --host 0.0.0.0 --port 8003\n  streamlit run ui/app.py --server.port 8501 --server.address 0.0.0.0\n  upr topics create | upr --help\nConfiguration: UPR_* environment variables (see README, Configuration; docker-compose.yml).''')"]
