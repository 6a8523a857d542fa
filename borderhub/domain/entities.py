"""The entities an event mentions, as stable keys: the nodes of the link graph and the handles
of entity timelines. One function, so correlation and search agree on what "the same
document" or "the same phone" is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from borderhub.domain.identifiers import normalize_container, normalize_document_number, normalize_plate
from borderhub.domain.translit import key_ascii_words

ENTITY_TYPES = ("person", "document", "vehicle", "vessel", "phone", "container", "seizure", "port")


@dataclass(frozen=True, slots=True)
class EntityRef:
    key: str  # e.g. "doc:MX:X1234567", "phone:+525512345678"
    type: str  # one of ENTITY_TYPES
    label: str  # for people reading a graph

    def to_dict(self) -> dict:
        return {"key": self.key, "type": self.type, "label": self.label}


def event_time(kind: str, event: dict):
    """When the event happened: captures have ``captured_at``, the others ``occurred_at``."""
    return event["captured_at"] if kind == "biometrics" else event["occurred_at"]


def _folded(text: str | None) -> str:
    return " ".join(key_ascii_words(text or "").upper().split())


def person_key(traveller: dict) -> str | None:
    """A person: the publisher's id when given, else folded names and birth date."""
    family, given = _folded(traveller.get("family_names")), _folded(traveller.get("given_names"))
    if not (family or given):
        return None
    basis = f"{family}|{given}|{traveller.get('date_of_birth') or ''}"
    return "person:" + hashlib.sha1(basis.encode()).hexdigest()[:16]


def document_key(document: dict) -> str:
    return f"doc:{document['issuing_country']}:{normalize_document_number(document['number'])}"


def _traveller(t: dict | None) -> Iterator[EntityRef]:
    if not t:
        return
    key = person_key(t)
    if key:
        yield EntityRef(key, "person", f"{t.get('given_names', '')} {t.get('family_names', '')}".strip())
    for phone in t.get("phone_numbers") or ():
        yield EntityRef(f"phone:{phone}", "phone", phone)


def _document(d: dict | None) -> Iterator[EntityRef]:
    if d and d.get("number") and d.get("issuing_country"):
        yield EntityRef(document_key(d), "document", f"{d.get('document_type', 'DOCUMENT')} {d['number']} ({d['issuing_country']})")


def _conveyance(c: dict | None) -> Iterator[EntityRef]:
    if not c:
        return
    if c.get("vehicle_plate"):
        plate = normalize_plate(c["vehicle_plate"])
        yield EntityRef(f"vehicle:{c.get('vehicle_country') or '??'}:{plate}", "vehicle", f"plate {plate}")
    if c.get("vessel_imo"):
        imo = "".join(ch for ch in c["vessel_imo"] if ch.isdigit())
        yield EntityRef(f"vessel:imo:{imo}", "vessel", f"IMO {imo} {c.get('vessel_name') or ''}".strip())
    elif c.get("vessel_mmsi"):
        yield EntityRef(f"vessel:mmsi:{c['vessel_mmsi']}", "vessel", f"MMSI {c['vessel_mmsi']}")
    for container in c.get("container_numbers") or ():
        number = "".join(ch for ch in normalize_container(container) if ch.isalnum())
        yield EntityRef(f"container:{number}", "container", number)


def event_entities(kind: str, event: dict) -> list[EntityRef]:
    """Every entity the event mentions, each once, in a stable order."""
    refs: list[EntityRef] = []
    if event.get("port_locode"):
        refs.append(EntityRef(f"port:{event['port_locode']}", "port", event["port_locode"]))
    if kind == "crossings":
        refs += [*_traveller(event.get("traveller")), *_document(event.get("document")),
                 *_conveyance(event.get("conveyance"))]
    elif kind == "seizures":
        refs.append(EntityRef(f"seizure:{event['event_id']}", "seizure",
                              f"{event.get('category', 'SEIZURE')} {event.get('case_reference') or ''}".strip()))
        for person in event.get("persons") or ():
            refs += _traveller(person)
        for document in event.get("documents") or ():
            refs += _document(document)
        refs += _conveyance(event.get("conveyance"))
        refs += [EntityRef(f"phone:{p}", "phone", p) for p in event.get("phone_numbers") or ()]
    elif kind == "biometrics":
        refs += _document(event.get("document"))
    seen: set[str] = set()
    return [r for r in refs if not (r.key in seen or seen.add(r.key))]
