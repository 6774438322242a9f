"""Kubernetes: the source (objects read through the API server) and the target (patches)."""
