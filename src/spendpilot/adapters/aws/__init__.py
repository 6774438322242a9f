"""AWS through boto3. The same code talks to real AWS or to a local emulator (``endpoint_url``)."""

from spendpilot.adapters.aws.client import AwsAdapter

__all__ = ["AwsAdapter"]
