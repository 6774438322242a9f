"""Tables of the operational database (SQLite by default, Postgres in team mode)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("fingerprint", String(32), nullable=False, index=True),
    Column("plan_hash", String(64), nullable=False),
    Column("sweep_id", String(32)),
    Column("body", Text, nullable=False),  # the Proposal as JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", String(32), nullable=False, index=True),
    Column("plan_hash", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("by", String(200), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("at", DateTime(timezone=True), nullable=False),
)

# The execution ledger: one row per (proposal, plan hash). The unique key is what makes
# "apply at most once" hold across processes and crashes.
executions = Table(
    "executions",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),
    Column("proposal_id", String(32), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # Who is applying it now, and until when that claim holds (see execution/lease.py).
    Column("owner", String(200)),
    Column("lease_until", DateTime(timezone=True)),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("proposal_id", String(32), index=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("prev_hash", name="uq_audit_chain"),
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("report", Text),
)

# The LLM tokens spendpilot's own agents spent (copilot conversations, sweep narration), one
# row per model call; written and read by ``agent/llm_usage.py``. ``cost`` is a decimal as text,
# NULL when the price book has no price for the model (never a silent zero).
agent_llm_usage = Table(
    "agent_llm_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("scope", String(16), nullable=False),  # "conversation" or "sweep"
    Column("scope_id", String(64), nullable=False, index=True),
    Column("model", String(200), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False, default=0),
    Column("cache_write_tokens", Integer, nullable=False, default=0),
    Column("reasoning_tokens", Integer, nullable=False, default=0),
    Column("cost", String(40)),
    Column("currency", String(3)),
    Column("note", Text, nullable=False, default=""),
)
