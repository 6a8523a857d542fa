"""Kafka clients with the hub's delivery guarantees, and an asyncio bridge for kafka-python."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from kafka import KafkaProducer

from borderhub.settings import Settings


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


def send_async(producer: KafkaProducer, topic: str, value: bytes | None, key: bytes | None = None,
               headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future:
    """Send and return an asyncio future resolved with the broker's acknowledgement."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future = loop.create_future()

    def _done(metadata: Any) -> None:
        loop.call_soon_threadsafe(lambda: result.done() or result.set_result(metadata))

    def _failed(exc: BaseException) -> None:
        loop.call_soon_threadsafe(lambda: result.done() or result.set_exception(exc))

    try:
        future = producer.send(topic, value=value, key=key, headers=headers or [])
    except Exception as exc:  # buffer full, record too large, producer closed
        result.set_exception(exc)
        return result
    future.add_callback(_done)
    future.add_errback(_failed)
    return result


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
