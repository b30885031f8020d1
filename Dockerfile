# The Ember worker image: `docker build -t ember .`; runs `python worker.py run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app

WORKDIR /app
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY activities ./activities
COPY workflows ./workflows
COPY examples ./examples
COPY worker.py ./
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 ember

USER ember
EXPOSE 9464
ENTRYPOINT ["python", "worker.py"]
CMD ["run"]
