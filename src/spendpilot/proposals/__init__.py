"""Propose: a finding and its estimate become a proposal with a stable identity, and the
rules for when a proposal is new, refreshed, superseded, suppressed or proposed again.

- ``identity``: fingerprints, proposal ids, generations, evidence digests;
- ``lifecycle``: building a proposal and queueing it against what is already open;
- ``transitions``: the legal status changes, enforced by the state store.

Import from the submodules; this package imports nothing, so the state store can use
``transitions`` without pulling in actions.
"""
