"""The cost lake: FOCUS billing rows as hive-partitioned Parquet, queried in-process by DuckDB.

AWS Cost and Usage Reports (CUR 2.0, legacy CUR) are recognised from their columns and stored as
FOCUS rows (``cur``; the mapping is in docs/ingest-formats.md).

Layout under ``lake_dir``::

    focus/provider=<ProviderName>/billing_period=<YYYY-MM>/<source-stem>-<hash8>.parquet
    llm_usage/<source-stem>-<hash8>.parquet
    quarantine/<source-stem>-<hash8>.parquet      rows that failed validation, with reasons
    .staging/<run>/                               one ingest run's files until its commit
                                                  (a dead run's folder is deleted by the next
                                                  ingest; ``health`` lists such folders)

A newer export for the same (ProviderName, BillingAccountId, BillingPeriodStart) replaces the
stored rows for that key (restated billing); see ``_storage.LakeTransaction``. LLM usage is
restated the same way per (provider, feature, day) (``llm_usage``).

What ingestion promises (pinned by ``tests/adversarial/lake``): a file is either refused whole
with one line naming it (nothing written), or every record in it is stored or quarantined with a
reason, ``rows_read == rows_stored + rows_quarantined``. Dates must be ISO 8601 (or match an
explicit ``date_format``), amounts are bounded (``schema.MONEY_LIMIT``), ``NULL`` in any letter
case is a missing value, and sums over the lake cannot overflow. ``health`` reports a lake's
state without changing it.

Plain Parquet on purpose: a distributed engine can read the same files when one machine is
not enough.
"""

from spendpilot.lake._storage import StorageFullError, clean_orphaned_staging
from spendpilot.lake.health import LakeHealth, health
from spendpilot.lake.ingest import IngestReport, ingest_file, ingest_path
from spendpilot.lake.llm_usage import ingest_llm_usage_file, read_llm_usage
from spendpilot.lake.query import CostLake

__all__ = [
    "CostLake",
    "IngestReport",
    "LakeHealth",
    "StorageFullError",
    "clean_orphaned_staging",
    "health",
    "ingest_file",
    "ingest_llm_usage_file",
    "ingest_path",
    "read_llm_usage",
]
