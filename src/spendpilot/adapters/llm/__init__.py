"""LLM providers' organization usage and cost APIs (OpenAI, Anthropic) as sweep sources."""
