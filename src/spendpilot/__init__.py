"""spendpilot: an agent-based FinOps copilot for AI/ML spend.

The data flow reads top to bottom in the package layout:
adapters (read) -> lake -> checks -> savings -> actions -> approval -> execution -> state/audit.
"""

__version__ = "0.1.0"
