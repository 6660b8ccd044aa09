"""Seed case 2 — a token for your own API (``https://shopping.api``), then read and write products.

Connection ``logto_default``: the M2M app also holds a role with ``read:products`` and ``write:products`` of the
"Online Shopping" API resource, and the ``api_base_url`` extra points at the API that validates those tokens.
The operator asks for a token for ``https://shopping.api`` with both scopes; the token is only ever sent to
``api_base_url``.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_logto.operators.resource import LogtoResourceApiOperator

SHOPPING_API = "https://shopping.api"
SCOPES = "read:products write:products"

with DAG(
    dag_id="example_logto_shopping_api",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logto", "example"],
    doc_md=__doc__,
) as dag:
    add_product = LogtoResourceApiOperator(
        task_id="add_product",
        method="POST",
        endpoint="/products",
        resource=SHOPPING_API,
        scopes=SCOPES,
        json={"name": "Airflow sticker {{ ds }}", "price": 2.5},
    )
    list_products = LogtoResourceApiOperator(
        task_id="list_products",
        endpoint="/products",
        resource=SHOPPING_API,
        scopes=SCOPES,
        response_check=lambda products: isinstance(products, list),
    )

    @task
    def summary(created: dict, products: list[dict]) -> str:
        return f"Created product {created['name']!r} (id {created['id']}); the API now lists {len(products)}"

    add_product >> list_products
    summary(add_product.output, list_products.output)
