"""Writes the two CUR sample CSVs in this folder (run it to regenerate them; see PROVENANCE.md).

The rows are constructed, not copied: one September 2024 month of a payer account with an ML
team, written once and spelled twice, as a legacy CUR CSV (``lineItem/UnblendedCost``) and as a
CUR 2.0 CSV (``line_item_unblended_cost``, with ``product`` and ``resource_tags`` as JSON maps).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAYER, MEMBER = "111122223333", "444455556666"
SP_ARN = "arn:aws:savingsplans::111122223333:savingsplan/3a1f9c2e-7b4d-4e8a-9c61-0d2b5f7e8a90"
RI_ARN = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"

# legacy name, CUR 2.0 name (None: not in the CUR 2.0 sample)
COLUMNS = [
    ("identity/LineItemId", "identity_line_item_id"),
    ("identity/TimeInterval", "identity_time_interval"),
    ("bill/InvoiceId", "bill_invoice_id"),
    ("bill/InvoicingEntity", "bill_invoicing_entity"),
    ("bill/BillingEntity", "bill_billing_entity"),
    ("bill/BillType", "bill_bill_type"),
    ("bill/PayerAccountId", "bill_payer_account_id"),
    (None, "bill_payer_account_name"),
    ("bill/BillingPeriodStartDate", "bill_billing_period_start_date"),
    ("bill/BillingPeriodEndDate", "bill_billing_period_end_date"),
    ("lineItem/UsageAccountId", "line_item_usage_account_id"),
    (None, "line_item_usage_account_name"),
    ("lineItem/LineItemType", "line_item_line_item_type"),
    ("lineItem/UsageStartDate", "line_item_usage_start_date"),
    ("lineItem/UsageEndDate", "line_item_usage_end_date"),
    ("lineItem/ProductCode", "line_item_product_code"),
    ("lineItem/UsageType", "line_item_usage_type"),
    ("lineItem/Operation", "line_item_operation"),
    ("lineItem/AvailabilityZone", "line_item_availability_zone"),
    ("lineItem/ResourceId", "line_item_resource_id"),
    ("lineItem/UsageAmount", "line_item_usage_amount"),
    ("lineItem/CurrencyCode", "line_item_currency_code"),
    ("lineItem/UnblendedRate", "line_item_unblended_rate"),
    ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    ("lineItem/LineItemDescription", "line_item_line_item_description"),
    ("lineItem/TaxType", "line_item_tax_type"),
    ("product/ProductName", None),
    ("product/instanceType", None),
    ("product/location", None),
    ("product/region", None),
    ("product/regionCode", "product_region_code"),
    ("product/servicecode", "product_servicecode"),
    ("product/sku", "product_sku"),
    (None, "product"),
    ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost"),
    ("pricing/publicOnDemandRate", "pricing_public_on_demand_rate"),
    ("pricing/term", "pricing_term"),
    ("pricing/unit", "pricing_unit"),
    ("reservation/EffectiveCost", "reservation_effective_cost"),
    ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
    ("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
     "reservation_unused_amortized_upfront_fee_for_billing_period"),
    ("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee"),
    ("savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"),
    ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"),
    ("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date"),
    ("savingsPlan/UsedCommitment", "savings_plan_used_commitment"),
    ("resourceTags/user:team", None),
    ("resourceTags/user:project", None),
    (None, "resource_tags"),
]

EC2 = {"product/ProductName": "Amazon Elastic Compute Cloud", "lineItem/ProductCode": "AmazonEC2",
       "product/servicecode": "AmazonEC2", "product/location": "US East (N. Virginia)",
       "product/region": "us-east-1", "product/regionCode": "us-east-1",
       "lineItem/AvailabilityZone": "us-east-1a", "pricing/unit": "Hrs",
       "lineItem/Operation": "RunInstances"}
HOUR = {"lineItem/UsageStartDate": "2024-09-10T00:00:00Z",
        "lineItem/UsageEndDate": "2024-09-10T01:00:00Z"}
MONTH = {"lineItem/UsageStartDate": "2024-09-01T00:00:00Z",
         "lineItem/UsageEndDate": "2024-10-01T00:00:00Z"}

ROWS: list[dict[str, str]] = [
    {**EC2, **HOUR, "lineItem/LineItemType": "Usage", "lineItem/UsageType": "BoxUsage:p4d.24xlarge",
     "lineItem/ResourceId": "i-0a1b2c3d4e5f60718", "product/instanceType": "p4d.24xlarge",
     "product/sku": "SKUP4D24XLARGE01", "lineItem/UsageAmount": "1", "lineItem/UnblendedRate": "32.7726",
     "lineItem/UnblendedCost": "32.7726", "pricing/publicOnDemandRate": "32.7726",
     "pricing/publicOnDemandCost": "32.7726", "pricing/term": "OnDemand",
     "lineItem/LineItemDescription": "$32.7726 per On Demand Linux p4d.24xlarge Instance Hour",
     "resourceTags/user:team": "ml", "resourceTags/user:project": "llm-finetune"},
    {**EC2, **HOUR, "lineItem/LineItemType": "Usage", "lineItem/UsageType": "BoxUsage:g5.xlarge",
     "lineItem/ResourceId": "i-0f1e2d3c4b5a69788", "product/instanceType": "g5.xlarge",
     "product/sku": "SKUG5XLARGE00001", "lineItem/UsageAmount": "0.5", "lineItem/UnblendedRate": "1.006",
     "lineItem/UnblendedCost": "0.503", "pricing/publicOnDemandRate": "1.006",
     "pricing/publicOnDemandCost": "0.503", "pricing/term": "OnDemand",
     "lineItem/LineItemDescription": "$1.006 per On Demand Linux g5.xlarge Instance Hour",
     "resourceTags/user:team": "research"},
    {**EC2, **HOUR, "lineItem/LineItemType": "SavingsPlanCoveredUsage",
     "lineItem/UsageType": "BoxUsage:g5.2xlarge", "lineItem/ResourceId": "i-07a8b9c0d1e2f3a4b",
     "product/instanceType": "g5.2xlarge", "product/sku": "SKUG52XLARGE0001",
     "lineItem/UsageAmount": "1", "lineItem/UnblendedRate": "1.212", "lineItem/UnblendedCost": "1.212",
     "pricing/publicOnDemandRate": "1.212", "pricing/publicOnDemandCost": "1.212",
     "pricing/term": "OnDemand", "savingsPlan/SavingsPlanARN": SP_ARN,
     "savingsPlan/SavingsPlanEffectiveCost": "0.8004",
     "lineItem/LineItemDescription": "1.212 per On Demand Linux g5.2xlarge Instance Hour",
     "resourceTags/user:team": "ml"},
    {**EC2, **HOUR, "lineItem/LineItemType": "SavingsPlanNegation",
     "lineItem/UsageType": "BoxUsage:g5.2xlarge", "lineItem/ResourceId": "i-07a8b9c0d1e2f3a4b",
     "product/instanceType": "g5.2xlarge", "product/sku": "SKUG52XLARGE0001",
     "lineItem/UsageAmount": "1", "lineItem/UnblendedRate": "-1.212",
     "lineItem/UnblendedCost": "-1.212", "pricing/publicOnDemandCost": "0",
     "savingsPlan/SavingsPlanARN": SP_ARN,
     "lineItem/LineItemDescription": "SavingsPlanNegation used by AccountId : 444455556666 and UsageSku : SKUG52XLARGE0001",
     "resourceTags/user:team": "ml"},
    {**MONTH, "lineItem/LineItemType": "SavingsPlanRecurringFee",
     "lineItem/ProductCode": "ComputeSavingsPlans", "product/ProductName": "Savings Plans for AWS Compute usage",
     "product/servicecode": "ComputeSavingsPlans", "lineItem/UsageType": "ComputeSP:1yrNoUpfront",
     "lineItem/UsageAmount": "720", "lineItem/UnblendedRate": "0.5", "lineItem/UnblendedCost": "360",
     "pricing/publicOnDemandCost": "0", "savingsPlan/SavingsPlanARN": SP_ARN,
     "savingsPlan/TotalCommitmentToDate": "360", "savingsPlan/UsedCommitment": "312.5",
     "lineItem/LineItemDescription": "1 year No Upfront Compute Savings Plan"},
    {**EC2, **HOUR, "lineItem/LineItemType": "DiscountedUsage",
     "lineItem/UsageType": "BoxUsage:g4dn.xlarge", "lineItem/ResourceId": "i-0c9d8e7f6a5b4c3d2",
     "product/instanceType": "g4dn.xlarge", "product/sku": "SKUG4DNXLARGE001",
     "lineItem/UsageAmount": "1", "lineItem/UnblendedRate": "0", "lineItem/UnblendedCost": "0",
     "pricing/publicOnDemandRate": "0.526", "pricing/publicOnDemandCost": "0.526",
     "pricing/term": "Reserved", "reservation/ReservationARN": RI_ARN,
     "reservation/EffectiveCost": "0.3312",
     "lineItem/LineItemDescription": "USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), g4dn.xlarge instance",
     "resourceTags/user:team": "research"},
    {**EC2, **MONTH, "lineItem/LineItemType": "RIFee", "lineItem/UsageType": "HeavyUsage:g4dn.xlarge",
     "lineItem/ResourceId": "", "lineItem/UsageAmount": "720", "lineItem/UnblendedRate": "0.2",
     "lineItem/UnblendedCost": "144", "pricing/publicOnDemandCost": "0",
     "reservation/ReservationARN": RI_ARN,
     "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod": "9.3",
     "reservation/UnusedRecurringFee": "14.2",
     "lineItem/LineItemDescription": "USD 0.2 hourly fee per Linux/UNIX (Amazon VPC), g4dn.xlarge instance"},
    {**EC2, "lineItem/UsageStartDate": "2024-09-01T00:00:00Z",
     "lineItem/UsageEndDate": "2024-09-01T00:00:00Z", "lineItem/LineItemType": "Fee",
     "lineItem/UsageType": "HeavyUsage:g4dn.xlarge", "lineItem/ResourceId": "",
     "lineItem/UsageAmount": "1", "lineItem/UnblendedRate": "1100", "lineItem/UnblendedCost": "1100",
     "pricing/publicOnDemandCost": "0", "reservation/ReservationARN": RI_ARN,
     "lineItem/LineItemDescription": "Sign up charge for subscription: 5e6f7a8b, planId: 1"},
    {**EC2, **HOUR, "lineItem/LineItemType": "Usage", "lineItem/ProductCode": "AmazonSageMaker",
     "product/ProductName": "Amazon SageMaker", "product/servicecode": "AmazonSageMaker",
     "lineItem/UsageType": "USE1-Notebk:ml.g5.xlarge", "lineItem/Operation": "RunInstance",
     "lineItem/ResourceId": "arn:aws:sagemaker:us-east-1:444455556666:notebook-instance/research-nb",
     "product/instanceType": "ml.g5.xlarge", "product/sku": "SKUMLG5XLARGE001",
     "lineItem/UsageAmount": "2", "lineItem/UnblendedRate": "1.41", "lineItem/UnblendedCost": "2.82",
     "pricing/publicOnDemandRate": "1.41", "pricing/publicOnDemandCost": "2.82",
     "pricing/term": "OnDemand", "lineItem/LineItemDescription": "$1.41 per Notebook ml.g5.xlarge hour",
     "resourceTags/user:team": "research", "resourceTags/user:project": "embeddings"},
    {**EC2, **MONTH, "lineItem/LineItemType": "Usage", "lineItem/ProductCode": "AmazonS3",
     "product/ProductName": "Amazon Simple Storage Service", "product/servicecode": "AmazonS3",
     "lineItem/UsageType": "TimedStorage-ByteHrs", "lineItem/Operation": "StandardStorage",
     "lineItem/AvailabilityZone": "", "lineItem/ResourceId": "ml-datasets-bucket",
     "lineItem/UsageAmount": "1250.123456789", "lineItem/UnblendedRate": "0.023",
     "lineItem/UnblendedCost": "28.7528395061", "pricing/publicOnDemandRate": "0.023",
     "pricing/publicOnDemandCost": "28.7528395061", "pricing/term": "OnDemand",
     "pricing/unit": "GB-Mo", "lineItem/LineItemDescription": "$0.023 per GB - first 50 TB / month of storage used",
     "resourceTags/user:team": "ml"},
    {**MONTH, "lineItem/LineItemType": "Tax", "lineItem/ProductCode": "AmazonEC2",
     "product/ProductName": "Amazon Elastic Compute Cloud", "lineItem/UsageAmount": "1",
     "lineItem/UnblendedCost": "96.51", "lineItem/TaxType": "VAT",
     "lineItem/LineItemDescription": "Tax for product code AmazonEC2"},
    {**MONTH, "lineItem/LineItemType": "Credit", "lineItem/ProductCode": "AmazonSageMaker",
     "product/ProductName": "Amazon SageMaker", "lineItem/UsageAmount": "0",
     "lineItem/UnblendedCost": "-25", "lineItem/LineItemDescription": "AWS Activate credit"},
    {**MONTH, "lineItem/LineItemType": "Refund", "lineItem/ProductCode": "AmazonEC2",
     "product/ProductName": "Amazon Elastic Compute Cloud", "lineItem/UsageAmount": "0",
     "lineItem/UnblendedCost": "-3.5", "lineItem/LineItemDescription": "Refund for over-billed usage"},
]


def _common(i: int, row: dict[str, str]) -> dict[str, str]:
    start = row["lineItem/UsageStartDate"]
    return {
        "identity/LineItemId": f"cur-sample-{i:04d}",
        "identity/TimeInterval": f"{start}/{row['lineItem/UsageEndDate']}",
        "bill/InvoiceId": "EUINUS24-000001", "bill/InvoicingEntity": "Amazon Web Services, Inc.",
        "bill/BillingEntity": "AWS", "bill/BillType": "Anniversary",
        "bill/PayerAccountId": PAYER, "bill/BillingPeriodStartDate": "2024-09-01T00:00:00Z",
        "bill/BillingPeriodEndDate": "2024-10-01T00:00:00Z",
        "lineItem/UsageAccountId": MEMBER, "lineItem/CurrencyCode": "USD",
        **row,
    }


def _cur2(row: dict[str, str]) -> dict[str, str]:
    out = {cur2: row.get(legacy, "") for legacy, cur2 in COLUMNS if legacy and cur2}
    out["bill_payer_account_name"] = "ml-platform-payer"
    out["line_item_usage_account_name"] = "ml-research"
    product = {k: row[f"product/{v}"] for k, v in (("product_name", "ProductName"),
               ("instance_type", "instanceType"), ("location", "location"), ("region", "region"))
               if row.get(f"product/{v}")}
    out["product"] = json.dumps(product) if product else ""
    tags = {f"user_{k}": row[f"resourceTags/user:{k}"] for k in ("team", "project")
            if row.get(f"resourceTags/user:{k}")}
    out["resource_tags"] = json.dumps(tags) if tags else ""
    return out


def main(folder: Path = HERE) -> None:
    full = [_common(i, r) for i, r in enumerate(ROWS, start=1)]
    legacy = [name for name, _ in COLUMNS if name]
    with open(folder / "legacy_cur_2024-09.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, legacy, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(full)
    cur2 = [name for _, name in COLUMNS if name]
    with open(folder / "cur2_2024-09.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, cur2, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(_cur2(r) for r in full)


if __name__ == "__main__":
    main()
