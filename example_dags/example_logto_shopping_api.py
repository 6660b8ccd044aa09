"""Seed case 2 — a token for your own API (``https://shopping.api``), then read and write products.

Connection ``logto_shopping``: an M2M app of its own (least privilege: it needs no Management API access) with a
role holding ``read:products`` and ``write:products`` of the "Online Shopping" API resource, and the
``api_base_url`` extra pointing at the API that validates those tokens. The operator asks for a token for
``https://shopping.api`` with both scopes; the token is only ever sent to ``api_base_url``.
Works however the run is triggered: the product name uses the run's ``run_after`` time (its logical date on
Airflow 2), which every run has.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_logto.operators.resource import LogtoResourceApiOperator

CONN_ID = "logto_shopping"
SHOPPING_API = "https://shopping.api"
SCOPES = "read:products write:products"

# When the run was due or triggered: every Airflow 3 run has run_after (one triggered from the UI or REST may
# have no logical date); Airflow 2 has no run_after, but every run there has a logical date.
RUN_TIME = "(dag_run.run_after if dag_run.run_after is defined else dag_run.logical_date)"

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
        logto_conn_id=CONN_ID,
        method="POST",
        endpoint="/products",
        resource=SHOPPING_API,
        scopes=SCOPES,
        json={"name": "Airflow sticker {{ " + RUN_TIME + ".strftime('%Y-%m-%d %H:%M') }}", "price": 2.5},
    )
    list_products = LogtoResourceApiOperator(
        task_id="list_products",
        logto_conn_id=CONN_ID,
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
