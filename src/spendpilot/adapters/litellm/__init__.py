"""A LiteLLM proxy's config.yaml as a source (what it routes and limits) and a target (what actions change)."""
