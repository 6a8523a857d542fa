"""From request bytes to records ready for Kafka: decode (JSON or Avro), check shape and
meaning, canonicalise, choose the partition key, encode. Pure: no I/O, so it is unit-tested
without servers, and the gateway and the batch tools share it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import orjson

from borderhub.avro import AVRO_CONTENT_TYPE, AvroCodec, DecodeError, from_json
from borderhub.domain.events import CHECKS, canonicalise_event
from borderhub.domain.identifiers import normalize_document_number
from borderhub.domain.problems import Problem
from borderhub.keys import ApiKey

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq", "application/ndjson")


@dataclass
class Outcome:
    """One record of a request: accepted with its Kafka key and value, or rejected with reasons."""
    index: int
    datum: dict | None = None
    key: bytes | None = None
    value: bytes | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def event_id(self) -> str | None:
        return self.datum.get("event_id") if self.datum else None


def media_type(content_type: str | None) -> str:
    return (content_type or "application/json").split(";")[0].strip().lower()


def partition_key(kind: str, datum: dict) -> bytes:
    """Keep one traveller's events on one partition: key by travel document, else by the
    publisher's traveller id, else by name and birth date. Seizures are keyed by event id."""
    if kind == "seizures":
        return datum["event_id"].encode()
    document = datum.get("document")
    if document:
        return f"doc:{document['issuing_country']}:{normalize_document_number(document['number'])}".encode()
    traveller = datum.get("traveller") or {}
    traveller_id = traveller.get("traveller_id") or datum.get("traveller_id")
    if traveller_id:
        return f"tid:{datum.get('source_system', '')}:{traveller_id}".encode()
    basis = f"{traveller.get('family_names', '')}|{traveller.get('given_names', '')}|{traveller.get('date_of_birth')}"
    return b"person:" + hashlib.sha1(basis.encode()).hexdigest()[:20].encode()


class EventValidator:
    def __init__(self, codec: AvroCodec):
        self.codec = codec

    def check(self, kind: str, datum: dict, index: int, key: ApiKey | None,
              now: dt.datetime | None = None) -> Outcome:
        datum = canonicalise_event(kind, datum)
        problems = list(CHECKS[kind](datum, now=now))
        if key is not None and not key.may_publish_for(datum.get("port_locode", "")):
            problems.append(Problem("port_locode", "port_forbidden",
                                    f"this key may publish only for {', '.join(key.ports)}"))
        if problems:
            return Outcome(index, datum, problems=problems)
        return Outcome(index, datum, partition_key(kind, datum), self.codec.encode(kind, datum))

    def from_json_object(self, kind: str, obj: object, index: int, key: ApiKey | None,
                         now: dt.datetime | None = None) -> Outcome:
        datum, problems = from_json(self.codec.catalog.get(kind), obj)
        if problems:
            return Outcome(index, problems=problems)
        return self.check(kind, datum, index, key, now)

    def single(self, kind: str, body: bytes, content_type: str | None, key: ApiKey | None,
               now: dt.datetime | None = None) -> Outcome:
        if media_type(content_type) == AVRO_CONTENT_TYPE:
            try:
                datum = self.codec.decode(body, reader=kind)
            except DecodeError as exc:
                return Outcome(0, problems=[Problem("", "avro", str(exc))])
            return self.check(kind, datum, 0, key, now)
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return Outcome(0, problems=[Problem("", "json", f"not valid JSON: {exc}")])
        return self.from_json_object(kind, obj, 0, key, now)

    def batch(self, kind: str, body: bytes, content_type: str | None, key: ApiKey | None,
              now: dt.datetime | None = None) -> list[Outcome]:
        mtype = media_type(content_type)
        if mtype == AVRO_CONTENT_TYPE:
            outcomes = []
            for i, (datum, _raw, error) in enumerate(self.codec.decode_stream(body, kind)):
                if error is not None:
                    outcomes.append(Outcome(i, problems=[Problem("", "avro", str(error))]))
                else:
                    outcomes.append(self.check(kind, datum, i, key, now))
            return outcomes
        if mtype == "application/json":
            # A JSON array is accepted too, for clients that cannot stream lines.
            try:
                items = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                return [Outcome(0, problems=[Problem("", "json", f"not valid JSON: {exc}")])]
            if not isinstance(items, list):
                return [Outcome(0, problems=[Problem("", "type", "a batch is NDJSON lines or a JSON array")])]
            return [self.from_json_object(kind, obj, i, key, now) for i, obj in enumerate(items)]
        outcomes = []
        lines = [line for line in body.split(b"\n") if line.strip()]
        for i, line in enumerate(lines):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                outcomes.append(Outcome(i, problems=[Problem("", "json", f"line {i + 1} is not valid JSON: {exc}")]))
                continue
            outcomes.append(self.from_json_object(kind, obj, i, key, now))
        return outcomes
