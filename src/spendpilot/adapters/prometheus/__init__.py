"""Prometheus source (with the real server), allocation and usage-based Kubernetes checks."""
