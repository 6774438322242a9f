"""Every error a user can meet, in one hierarchy, with messages they can act on.

The CLI maps these to exit codes (see ``ExitCode``) so scripts can tell
"bad input" from "nothing to do" from "refused for safety".
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    BAD_INPUT = 2
    DRIFT = 3
    NOT_FOUND = 4
    CONFLICT = 5
    UNAVAILABLE = 6  # a cloud or provider API refused or could not be reached: fix access, retry


class SpendpilotError(Exception):
    """Base class; ``exit_code`` tells the CLI how to end."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(SpendpilotError):
    exit_code = ExitCode.BAD_INPUT


class IngestError(SpendpilotError):
    """The input as a whole cannot be ingested (not FOCUS, unreadable). Nothing was written."""

    exit_code = ExitCode.BAD_INPUT


class BadArgument(SpendpilotError):
    """A command's argument is unusable as given (an empty reason, a too-short plan hash)."""

    exit_code = ExitCode.BAD_INPUT


class ScenarioError(SpendpilotError):
    exit_code = ExitCode.BAD_INPUT


class ProposalNotFound(SpendpilotError):
    exit_code = ExitCode.NOT_FOUND


class InvalidTransition(SpendpilotError):
    """The proposal is not in a state that allows this (e.g. approving a rejected one)."""

    exit_code = ExitCode.CONFLICT


class ApprovalRequired(SpendpilotError):
    """Execution was attempted without a recorded approval of exactly this plan."""

    exit_code = ExitCode.CONFLICT


class ApprovalExpired(ApprovalRequired):
    """The approval is older than the policy allows; the proposal goes back to the queue."""


class ApprovalNotAudited(ApprovalRequired):
    """A recorded approval the audit log does not vouch for (no matching event in an intact,
    anchored chain): written around spendpilot, or the log was tampered with. Never acted on."""


class PlanHashMismatch(SpendpilotError):
    exit_code = ExitCode.CONFLICT


class SweepInProgress(SpendpilotError):
    exit_code = ExitCode.CONFLICT


class AdapterError(SpendpilotError):
    """A source or target system refused or failed a call."""

    exit_code = ExitCode.UNAVAILABLE


class NoSpendData(SpendpilotError):
    """The lake holds nothing to show yet (no billing data, no LLM usage): ingest first."""

    exit_code = ExitCode.NOT_FOUND
