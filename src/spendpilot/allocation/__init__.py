"""Cost allocation: what each team's workloads cost on shared infrastructure (Kubernetes)."""
