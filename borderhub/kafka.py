"""Kafka clients with the hub's delivery guarantees."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from kafka import KafkaProducer

from borderhub.settings import Settings

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer


def make_producer(settings: Settings, client_id: str, **overrides: Any) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas: an acknowledged record is
    on the broker's log, and retries never duplicate it."""
    config: dict[str, Any] = dict(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        retries=2**31 - 1,
        max_in_flight_requests_per_connection=5,
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
        max_block_ms=10_000,  # a full buffer or missing metadata is an error, not a hang
        request_timeout_ms=10_000,
        delivery_timeout_ms=int(settings.ingest_produce_timeout * 1000),
    )
    config.update(overrides)
    return KafkaProducer(**config)


def make_async_producer(settings: Settings, client_id: str) -> "AIOKafkaProducer":
    """The asyncio producer for the services (same guarantees as ``make_producer``).
    ``borderhub bench`` measured aiokafka at about 3x kafka-python's throughput on this
    hardware, and it needs no thread bridge inside an event loop."""
    from aiokafka import AIOKafkaProducer
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=int(settings.ingest_produce_timeout * 1000),
    )


def kafka_reachable(settings: Settings, timeout: float = 2.0) -> bool:
    """A broker of the bootstrap list accepts connections (for health checks)."""
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False
