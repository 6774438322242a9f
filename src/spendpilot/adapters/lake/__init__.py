"""Sources that read spendpilot's own local stores (the FOCUS lake, stored LLM usage)."""
