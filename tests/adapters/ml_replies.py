"""Scripted empty answers to the reads the AWS source makes for SageMaker training jobs and
notebook instances, for tests that script every call of a sweep on ``reply_server``."""

from __future__ import annotations

from tests.adapters.reply_server import Reply

SM_JSON = "application/x-amz-json-1.1"
NO_ML: dict[str, Reply] = {
    "ListTrainingJobs": Reply(body=b'{"TrainingJobSummaries": []}', content_type=SM_JSON),
    "ListNotebookInstances": Reply(body=b'{"NotebookInstances": []}', content_type=SM_JSON),
}
