"""A SageMaker notebook instance in service that nobody has used for a while.

The evidence of use is the notebook's own Jupyter log (see ``adapters/aws/sagemaker_notebooks.py``):
every request a browser or a kernel makes writes a line. ``LastModifiedTime`` only says when it
was last started, so a notebook started yesterday is never idle for longer than that.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from spendpilot.actions.stop_notebook_instance import StopNotebookFacts
from spendpilot.adapters.aws.sagemaker_notebooks import (
    NOTEBOOK,
    NOTEBOOK_LOG_GROUP,
    jupyter_log_stream,
)
from spendpilot.checks.registry import register_check
from spendpilot.domain import Evidence, Finding, Snapshot
from spendpilot.savings.pricebook import PriceBook


class IdleNotebookSettings(BaseModel):
    enabled: bool = True
    idle_hours: float = Field(
        72.0, gt=0,
        description="Hours without a Jupyter log line (and since its last start) before a notebook counts as idle: "
        "three days, so a weekend away is not waste yet.",
    )
    ignore_tag: str = Field("spendpilot:ignore", description="Notebook instances with this tag are skipped.")


@register_check(
    "idle_notebook_instance",
    action_kind="stop_notebook_instance",
    settings=IdleNotebookSettings,
    facts=StopNotebookFacts,
    description="SageMaker notebook instances in service with no Jupyter activity for days (default 72 h).",
)
def find_idle_notebooks(snapshot: Snapshot, settings: IdleNotebookSettings, prices: PriceBook) -> list[Finding[StopNotebookFacts]]:
    findings: list[Finding[StopNotebookFacts]] = []
    for res in snapshot.of_kind(NOTEBOOK):
        a = res.attributes
        if a.get("status") != "InService" or settings.ignore_tag in res.tags or not a.get("instance_type"):
            continue
        if not a.get("last_jupyter_activity_at"):
            continue  # no Jupyter log: no evidence either way
        last = datetime.fromisoformat(a["last_jupyter_activity_at"])
        since = datetime.fromisoformat(a["last_modified_at"]) if a.get("last_modified_at") else None
        # Idle since the later of its last Jupyter line and its last start.
        idle_from = max(last, since) if since is not None else last
        hours = (snapshot.taken_at - idle_from).total_seconds() / 3600
        if hours < settings.idle_hours:
            continue
        findings.append(Finding(
            resource=res,
            summary=f"SageMaker notebook instance '{res.ref.id}' ({a['instance_type']}) has had no Jupyter "
                    f"activity for {hours / 24:.1f} days",
            facts=StopNotebookFacts(
                instance_type=a["instance_type"], region=res.ref.region, last_activity_at=last,
                idle_hours=round(hours, 1), in_service_since=since, measured_until=snapshot.taken_at,
            ),
            evidence=[
                Evidence(label="Last Jupyter activity", value=f"{last:%Y-%m-%d %H:%M} UTC ({hours:.0f} h ago; idle means "
                         f"{settings.idle_hours:g} h)",
                         source=f"CloudWatch Logs {NOTEBOOK_LOG_GROUP} stream {jupyter_log_stream(res.ref.id)} lastEventTimestamp"),
                Evidence(label="In service since", value=f"{since:%Y-%m-%d %H:%M} UTC" if since else "unknown",
                         source="SageMaker DescribeNotebookInstance LastModifiedTime (its last start or update)"),
                Evidence(label="Instance", value=f"{a['instance_type']}, {a.get('volume_size_gb') or '?'} GB volume (kept)",
                         source="SageMaker DescribeNotebookInstance"),
            ],
        ))
    return findings
