"""The nine asset types and the JSON Schema (Draft 2020-12) each one's `metadata` must satisfy."""

from django.db import models
from jsonschema import Draft202012Validator


class AssetType(models.TextChoices):
    REAL_ESTATE = "real_estate", "Real estate"
    FIXED_INCOME = "fixed_income", "Fixed income"
    PRIVATE_CREDIT = "private_credit", "Private credit"
    COMMODITY = "commodity", "Commodity"
    EQUITY = "equity", "Equity"
    ART = "art", "Art"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    CARBON_CREDIT = "carbon_credit", "Carbon credit"
    OTHER = "other", "Other"


REFERENCE_PREFIXES: dict[str, str] = {
    AssetType.REAL_ESTATE: "RE",
    AssetType.FIXED_INCOME: "FI",
    AssetType.PRIVATE_CREDIT: "PC",
    AssetType.COMMODITY: "CM",
    AssetType.EQUITY: "EQ",
    AssetType.ART: "AR",
    AssetType.INFRASTRUCTURE: "IN",
    AssetType.CARBON_CREDIT: "CC",
    AssetType.OTHER: "OT",
}

_MONEY = {"type": "string", "pattern": r"^-?\d{1,18}(\.\d{1,8})?$", "description": "A decimal amount as a string."}
_POSITIVE_MONEY = {"type": "string", "pattern": r"^\d{1,18}(\.\d{1,8})?$", "description": "A decimal amount >= 0."}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 500}
_RATE = {"type": "string", "pattern": r"^\d{1,3}(\.\d{1,6})?$", "description": "A rate in percent, e.g. '4.25'."}


def _schema(title: str, properties: dict, required: list[str]) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }


METADATA_SCHEMAS: dict[str, dict] = {
    AssetType.REAL_ESTATE: _schema(
        "Real estate metadata",
        {
            "address": _TEXT,
            "property_type": {"enum": ["residential", "commercial", "industrial", "land", "mixed_use", "hospitality"]},
            "area_sqm": {"type": "number", "exclusiveMinimum": 0},
            "year_built": {"type": "integer", "minimum": 1000, "maximum": 2100},
            "land_registry_id": _TEXT,
        },
        ["address", "property_type", "area_sqm"],
    ),
    AssetType.FIXED_INCOME: _schema(
        "Fixed income metadata",
        {
            "principal": _POSITIVE_MONEY,
            "coupon_rate": _RATE,
            "coupon_frequency": {"enum": ["annual", "semiannual", "quarterly", "monthly", "zero"]},
            "issue_date": _DATE,
            "maturity_date": _DATE,
            "isin": {"type": "string", "pattern": r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$"},
        },
        ["principal", "coupon_rate", "maturity_date"],
    ),
    AssetType.PRIVATE_CREDIT: _schema(
        "Private credit metadata",
        {
            "borrower": _TEXT,
            "principal": _POSITIVE_MONEY,
            "interest_rate": _RATE,
            "maturity_date": _DATE,
            "seniority": {"enum": ["senior_secured", "senior_unsecured", "mezzanine", "subordinated"]},
            "collateral": {"type": "string", "maxLength": 500},
        },
        ["borrower", "principal", "interest_rate", "maturity_date"],
    ),
    AssetType.COMMODITY: _schema(
        "Commodity metadata",
        {
            "commodity": {"enum": ["gold", "silver", "platinum", "palladium", "copper", "oil", "other"]},
            "quantity": {"type": "string", "pattern": r"^\d{1,18}(\.\d{1,8})?$"},
            "unit": {"enum": ["troy_oz", "kg", "tonne", "barrel", "lb"]},
            "vault": _TEXT,
            "price_series": {"type": "string", "maxLength": 50},
        },
        ["commodity", "quantity", "unit", "vault"],
    ),
    AssetType.EQUITY: _schema(
        "Equity metadata",
        {
            "company_name": _TEXT,
            "registration_number": _TEXT,
            "share_class": {"type": "string", "maxLength": 50},
            "shares": {"type": "integer", "minimum": 1},
        },
        ["company_name", "shares"],
    ),
    AssetType.ART: _schema(
        "Art metadata",
        {
            "artist": _TEXT,
            "title": _TEXT,
            "year": {"type": "integer", "minimum": -5000, "maximum": 2100},
            "medium": {"type": "string", "maxLength": 200},
            "provenance": {"type": "string", "maxLength": 2000},
            "custodian": _TEXT,
        },
        ["artist", "title", "custodian"],
    ),
    AssetType.INFRASTRUCTURE: _schema(
        "Infrastructure metadata",
        {
            "sector": {"enum": ["energy", "transport", "water", "telecom", "social", "other"]},
            "location": _TEXT,
            "capacity": {"type": "string", "maxLength": 100},
            "concession_end": _DATE,
            "useful_life_years": {"type": "integer", "minimum": 1, "maximum": 200},
        },
        ["sector", "location"],
    ),
    AssetType.CARBON_CREDIT: _schema(
        "Carbon credit metadata",
        {
            "registry": {"enum": ["verra", "gold_standard", "acr", "car", "puro", "other"]},
            "project_id": _TEXT,
            "vintage": {"type": "integer", "minimum": 1990, "maximum": 2100},
            "tonnes_co2e": {"type": "string", "pattern": r"^\d{1,18}(\.\d{1,8})?$"},
            "methodology": {"type": "string", "maxLength": 200},
        },
        ["registry", "project_id", "vintage", "tonnes_co2e"],
    ),
    AssetType.OTHER: _schema("Other metadata", {"category": {"type": "string", "maxLength": 200}}, []),
}

_VALIDATORS = {
    asset_type: Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for asset_type, schema in METADATA_SCHEMAS.items()
}
for _schema_doc in METADATA_SCHEMAS.values():
    Draft202012Validator.check_schema(_schema_doc)


def metadata_errors(*, asset_type: str, metadata: object) -> dict[str, list[str]]:
    """Validation errors keyed by field path (`metadata.area_sqm`), empty when the metadata is valid."""
    errors: dict[str, list[str]] = {}
    for error in sorted(_VALIDATORS[asset_type].iter_errors(metadata), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, missing] if missing else path
        key = ".".join(["metadata", *(str(part) for part in path)])
        errors.setdefault(key, []).append(error.message)
    return errors
