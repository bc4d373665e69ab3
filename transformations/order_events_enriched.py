"""order_events_enriched: orders with their total and a price category."""

from __future__ import annotations

from common.load.transformer import (
    EVENT_DATE_UTC,
    EVENT_TIME_UTC,
    INGESTION_TIME_UTC,
    BaseTransformer,
    SourceTables,
)

LOW_BELOW = 100
HIGH_FROM = 500


class OrderEventsEnrichedTransformer(BaseTransformer):
    """One row per order event.

    ``total_amount = quantity * price``; ``order_time`` is the event time (UTC) and
    ``order_date`` its UTC day (the partition); ``price_category`` is on the unit price:
    LOW below 100, MEDIUM from 100 to below 500, HIGH from 500 (NULL price: NULL category).
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            "order_id": "STRING",
            "user_id": "BIGINT",
            "product_id": "STRING",
            "quantity": "INT",
            "price": "DOUBLE",
            "total_amount": "DOUBLE",
            "order_time": "TIMESTAMP(3)",
            "order_date": "DATE",
            "price_category": "STRING",
            "ingestion_time": "TIMESTAMP(3)",
        }

    def get_partition_by(self) -> list[str]:
        return ["order_date"]

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
  `order_id`,
  `user_id`,
  `product_id`,
  `quantity`,
  `price`,
  `quantity` * `price` AS `total_amount`,
  {EVENT_TIME_UTC} AS `order_time`,
  {EVENT_DATE_UTC} AS `order_date`,
  CASE
    WHEN `price` < {LOW_BELOW} THEN 'LOW'
    WHEN `price` < {HIGH_FROM} THEN 'MEDIUM'
    WHEN `price` >= {HIGH_FROM} THEN 'HIGH'
  END AS `price_category`,
  {INGESTION_TIME_UTC} AS `ingestion_time`
FROM {sources.primary}
"""
