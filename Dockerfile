FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md babel.cfg ./
COPY outreach ./outreach
COPY workers ./workers
COPY locales ./locales
RUN pip install --no-cache-dir . && python -m outreach.i18n.catalogs --compile-only \
    && useradd --system --uid 10001 outreach && mkdir -p /app/var && chown outreach /app/var
USER outreach
EXPOSE 8000
CMD ["outreach", "serve", "--host", "0.0.0.0"]
