"""The LangGraph graphs: ``sweep``, ``remediation`` (one thread per proposal), ``copilot`` (chat)."""
