"""OpenTelemetry in: the OTLP/HTTP trace receiver (``receiver``)."""
