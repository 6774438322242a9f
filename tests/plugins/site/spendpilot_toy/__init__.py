"""A toy plug-in: a team marks instances to park in a JSON file; spendpilot tags them.

It exists to prove that a source, a check, an estimator and an action can be added from
outside spendpilot through entry points alone, and run the whole loop.
"""
