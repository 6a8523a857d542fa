"""The LinkSet correlation publishes on ``hub.links.v1`` for an event (see ``link_record`` in
services/correlate/app.py), built the same way, for tests that feed the indexer links without
running a correlation worker."""

from __future__ import annotations

from borderhub.domain.entities import event_entities, event_time
from services.correlate.links import edges_of
from services.correlate.outputs import EVENT_KINDS


def linkset_of(kind: str, event: dict) -> dict:
    """The LinkSet datum of an event datum (Avro form)."""
    refs = event_entities(kind, event)
    return {"event_id": event["event_id"], "event_kind": EVENT_KINDS[kind], "occurred_at": event_time(kind, event),
            "port_locode": event.get("port_locode"), "entities": [r.to_dict() for r in refs],
            "edges": [{"source": a, "target": b} for a, b in edges_of(kind, event, refs)]}
