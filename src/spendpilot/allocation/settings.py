"""``[chargeback]`` settings, apart from the computation so loading a config imports no DuckDB."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ChargebackSettings(BaseModel):
    """``[chargeback]`` in spendpilot.toml: which tags name owners, and explicit owner rules."""

    team_tags: list[str] = Field(
        ["team", "user_team", "user:team"], min_length=1,
        description="Tags (or Kubernetes labels) naming a team, first found wins; CUR 2.0 writes user:team as user_team.")
    feature_tags: list[str] = Field(
        ["feature", "user_feature", "user:feature"], min_length=1, description="Tags naming a product feature.")
    feature_teams: dict[str, str] = Field(
        default_factory=dict, description="Feature -> team, for rows with that feature and no team tag.")
    namespace_teams: dict[str, str] = Field(
        default_factory=dict, description="Kubernetes namespace -> team, for workloads without a team label.")
    infer_feature_teams: bool = Field(
        True, description="A feature whose team-tagged rows all name one team lends it to its untagged rows.")
