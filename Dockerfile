# The Ember worker image: `docker build -t ember .`; runs `python worker.py run`.
# Settings come from EMBER_* environment variables (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# The dependencies first, from pyproject.toml alone: a source change reuses this layer.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The wheel holds ember/ alone: the public face and, through its symlinks,
# registry/, activities/, workflows/ and worker.py (COPY keeps the symlinks).
# examples/ is imported from /app (PYTHONPATH), as any app of your own copied here
# would be.
COPY registry ./registry
COPY activities ./activities
COPY workflows ./workflows
COPY ember ./ember
COPY examples ./examples
COPY worker.py ./
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 ember

USER ember
EXPOSE 9464
ENTRYPOINT ["python", "worker.py"]
CMD ["run"]
