FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 VAR_DIR=/var/lib/tracker
# Pango, HarfBuzz and the Noto fonts (Arabic included): WeasyPrint's needs for the meeting pack's PDF.
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The production lock only: the development tools (requirements-dev.lock) stay out of the image.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN DEBUG=true python manage.py compilemessages --ignore=.venv \
    && DEBUG=true python manage.py collectstatic --noinput && mkdir -p /var/lib/tracker && useradd --system tracker \
    && chown -R tracker /var/lib/tracker
USER tracker
EXPOSE 8000
# Workers, threads and timeout: gunicorn.conf.py (read from WORKDIR), set from GUNICORN_* variables.
CMD ["gunicorn", "project.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
