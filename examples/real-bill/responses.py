"""Build the saved Together API responses of docs/real-bill.md from the SDK's own types.

Every response object below is validated by the official SDK's pydantic types
(``together`` 3.x: ``SupportedModel``, ``InferenceInstanceType``,
``BillingUsageWindow``), then written as the JSON the API sends. No real account data:
the organisation, the ids and the usage are made up. ``tests/test_together_api.py``
checks that the files beside this script are exactly what it builds.

Run it from the repository root to rebuild them: ``python examples/real-bill/responses.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from together.types import SupportedModel
from together.types.endpoints import InferenceInstanceType
from together.types.organization import BillingUsageLineItem, BillingUsageWindow

HERE = Path(__file__).resolve().parent
READ_AT = "2026-12-01T09:00:00Z"
CREATED = "2026-01-15T00:00:00Z"


def supported_model(
    name: str,
    input: str | None,
    output: str | None,
    cached: str | None = None,
    *,
    status: str = "SUPPORTED",
) -> dict[str, Any]:
    """A ``SupportedModel`` as GET /v2/supported-models returns it (prices are JSON numbers)."""
    pricing = None
    if input is not None:
        pricing = {"input": float(input), "output": None if output is None else float(output)}
        if cached is not None:
            pricing["cachedInput"] = float(cached)
    model = SupportedModel.model_validate(
        {
            "id": name.lower().replace("/", "-"),
            "baseModel": "",
            "baseModelId": "",
            "capabilities": ["CAPABILITY_CHAT"],
            "createdAt": CREATED,
            "deploymentProfiles": [],
            "displayName": name.rsplit("/", maxsplit=1)[-1],
            "displayType": "chat",
            "inputModalities": ["MODALITY_TEXT"],
            "name": name,
            "outputModalities": ["MODALITY_TEXT"],
            "products": ["PRODUCT_SERVERLESS"],
            "publisher": name.split("/", maxsplit=1)[0],
            "status": f"SUPPORTED_MODEL_STATUS_{status}",
            "updatedAt": CREATED,
            "pricing": pricing,
        }
    )
    return model.to_dict(mode="json")


def instance_type(gpus: int, gpu: str, memory: int, cents_per_hour: int) -> dict[str, Any]:
    """An ``InferenceInstanceType`` as GET /v2/public/inference-instance-types returns it."""
    return InferenceInstanceType.model_validate(
        {
            "id": f"{gpus}xnvidia-{gpu.lower()}-{memory}gb",
            "description": f"{gpus}x NVIDIA {gpu} {memory}GB",
            "gpuCount": gpus,
            "gpuMemoryGib": memory,
            "gpuType": gpu,
            "name": f"{gpus}x {gpu} {memory}GB",
            "priceCentsPerHour": cents_per_hour,
            "regions": [
                {"name": "us-central-1", "headroom": {"relation": "RELATION_GTE", "value": 4}}
            ],
        }
    ).to_dict(mode="json")


def line_item(
    product: str, quantity: str, unit_price: str, subject: dict[str, str], **attributes: str
) -> dict[str, Any]:
    """A ``BillingUsageLineItem``: quantity, unit price and cost as decimal strings."""
    cost = Decimal(quantity) * Decimal(unit_price)
    return BillingUsageLineItem.model_validate(
        {
            "product_name": product,
            "quantity": quantity,
            "unit_price": unit_price,
            "cost": format(cost.normalize(), "f"),
            "attributes": attributes,
            "pricing_dimensions": subject,
            "applied_credit": {"type": "PREPAID"},
        }
    ).to_dict(mode="json")


def window(day: int, items: list[dict[str, Any]], month: str = "2026-11") -> dict[str, Any]:
    """A daily ``BillingUsageWindow``."""
    start = dt.date.fromisoformat(f"{month}-{day:02d}")
    end = start + dt.timedelta(days=1)
    return BillingUsageWindow.model_validate(
        {
            "date": start.isoformat(),
            "start_time": f"{start.isoformat()}T00:00:00Z",
            "end_time": f"{end.isoformat()}T00:00:00Z",
            "line_items": items,
        }
    ).to_dict(mode="json")


def page(data: list[dict[str, Any]], cursor: str | None, **envelope: Any) -> dict[str, Any]:
    return {"object": "list", **envelope, "data": data, "next_cursor": cursor}


CHAT = {"model": "openai/gpt-oss-120b"}
H100 = {"hardware": "1xnvidia-h100-80gb"}


def usage_windows() -> list[dict[str, Any]]:
    """November 2026 of a made-up account: a chat app, and an endpoint someone forgot."""
    windows = []
    for day in range(1, 31):
        items = [
            line_item("Serverless Inference - Input Tokens", "3000000", "0.00000015", CHAT),
            line_item("Serverless Inference - Output Tokens", "1000000", "0.0000006", CHAT),
        ]
        if day == 10:
            items.append(line_item("Code Sandbox - Sessions", "10", "0.03", {}))
        if 20 <= day <= 21:
            # Deployed on the 20th at 09:00 for a demo, stopped the next day at 17:30.
            hours = "15" if day == 20 else "17.5"
            items.append(
                line_item(
                    "Dedicated Endpoints - Hardware Hours",
                    hours,
                    "5.49",
                    H100,
                    endpoint_id="endpoint-demo",
                )
            )
        windows.append(window(day, items))
    return windows


def catalog_responses() -> dict[str, Any]:
    models = [
        supported_model("openai/gpt-oss-120b", "0.15", "0.60"),
        supported_model("MiniMaxAI/MiniMax-M2.5", "0.30", "1.20", "0.06"),
        supported_model("meta-llama/Llama-3.3-70B-Instruct-Turbo", "0.88", "0.88"),
        supported_model("google/gemma-2b-it", "0", "0", status="DEPRECATED"),
        supported_model("acme/dedicated-only-model", None, None),
    ]
    hardware = [
        instance_type(1, "H100", 80, 549),
        instance_type(8, "H100", 80, 4392),
        instance_type(1, "B200", 180, 899),
    ]
    return {
        "read_at": READ_AT,
        "supported_models": [page(models[:3], "c2"), page(models[3:], None)],
        "hardware": [page(hardware, None)],
    }


def usage_report() -> dict[str, Any]:
    windows = usage_windows()
    envelope = {
        "billing_period": "2026-11",
        "currency": "USD",
        "organization_id": "org-example",
        "earliest_window_start": "2026-11-01T00:00:00Z",
        "latest_window_end": "2026-12-01T00:00:00Z",
    }
    return {
        "granularity": "day",
        "read_at": READ_AT,
        "month": "2026-11",
        "pages": [page(windows[:15], "w16", **envelope), page(windows[15:], None, **envelope)],
    }


def files() -> dict[str, str]:
    """The saved responses, by file name, as JSON text."""
    return {
        "prices.json": json.dumps(catalog_responses(), indent=2) + "\n",
        "usage-2026-11.json": json.dumps(usage_report(), indent=2) + "\n",
    }


if __name__ == "__main__":
    for name, text in files().items():
        (HERE / name).write_text(text, encoding="utf-8")
