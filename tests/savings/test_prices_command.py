"""``spendpilot prices show``: the EC2 table's source and date, as a user runs it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_prices_show_names_the_ec2_tables_source_and_date_per_region(tmp_path: Path) -> None:
    out = run_cli("prices", "show", "p4d.24xlarge", "--home", str(tmp_path), env={"COLUMNS": "400"}, check=True).stdout

    assert "us-east-1: AWS Price List, AmazonEC2 us-east-1 offer 20260924211011" in out
    assert "as of 2026-09-24" in out
    assert "us-west-2: AWS EC2 On-Demand pricing page" in out and "as of 2024-06" in out
    assert "Sweeps use the packaged table ([prices] ec2_live = false)" in out
    assert "p4d.24xlarge us-east-1 on-demand $21.957642/h" in out


def test_prices_show_says_when_sweeps_ask_the_price_list(tmp_path: Path) -> None:
    env = {"COLUMNS": "400", "SPENDPILOT_PRICES__EC2_LIVE": "true"}
    out = run_cli("prices", "show", "--home", str(tmp_path), env=env, check=True).stdout
    assert "Sweeps ask pricing:GetProducts first ([prices] ec2_live = true)" in out
