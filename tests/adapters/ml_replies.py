"""Scripted empty answers to the reads the AWS source makes for SageMaker training jobs, notebook
instances and EBS snapshots, for tests that script every call of a sweep on ``reply_server``."""

from __future__ import annotations

from tests.adapters.reply_server import Reply

SM_JSON = "application/x-amz-json-1.1"
_EC2 = b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
NO_ML: dict[str, Reply] = {
    "ListTrainingJobs": Reply(body=b'{"TrainingJobSummaries": []}', content_type=SM_JSON),
    "ListNotebookInstances": Reply(body=b'{"NotebookInstances": []}', content_type=SM_JSON),
    "DescribeSnapshots": Reply(body=b"<DescribeSnapshotsResponse " + _EC2 + b"><requestId>r</requestId><snapshotSet/>"
                                    b"</DescribeSnapshotsResponse>"),
    "DescribeImages": Reply(body=b"<DescribeImagesResponse " + _EC2 + b"><requestId>r</requestId><imagesSet/>"
                                 b"</DescribeImagesResponse>"),
}
