"""Operations: Prometheus metrics (``metrics.py``), JSON logs with a request id (``logs.py``), the ASGI layer that
counts, times and logs every request (``asgi.py``) and OpenTelemetry traces (``tracing.py``)."""
