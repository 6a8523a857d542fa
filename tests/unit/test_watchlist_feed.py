"""The watchlist feed loads the topic's history in chunks, with the same outcome as applying
every record one by one (adds, changes, tombstones, across chunk borders)."""

import random
from collections import namedtuple

from borderhub.avro import AvroCodec, SchemaCatalog
from borderhub.settings import Settings
from services.correlate.watchlist_feed import WatchlistFeed

Record = namedtuple("Record", "key value topic partition offset")


def entry(entry_id: str, version: int) -> dict:
    return {"entry_id": entry_id, "kind": "PERSON", "names": [f"Name {entry_id} v{version}"], "aliases": [],
            "identifiers": [], "birth_dates": [], "nationalities": [], "sex": "UNKNOWN", "document_status": "UNKNOWN",
            "biometric_templates": [], "topics": [], "reason": "", "action_on_hit": "MONITOR",
            "valid_from": None, "valid_until": None, "source_list": "test", "updated_at": 0}


def test_chunked_history_ends_like_one_by_one():
    settings = Settings()
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    rng = random.Random(3)
    records = []
    for offset in range(2000):
        entry_id = f"e{rng.randrange(300)}"
        value = None if rng.random() < 0.2 else codec.encode("watchlist", entry(entry_id, offset))
        records.append(Record(entry_id.encode(), value, "watchlist.entries.v1", 0, offset))

    def run(with_load: bool) -> dict:
        table: dict[str, str] = {}
        loads = []

        def load(entries):
            loads.append(len(entries))
            for e in entries:
                table[e["entry_id"]] = e["names"][0]

        feed = WatchlistFeed(settings, codec, lambda e: table.__setitem__(e["entry_id"], e["names"][0]),
                             lambda entry_id: table.pop(entry_id, None), load=load if with_load else None)
        feed.LOAD_CHUNK = 37
        for record in records[:1500]:
            feed._apply(record)
        feed.caught_up()
        feed.ready.set()
        for record in records[1500:]:  # live: one by one
            feed._apply(record)
        return table, loads

    chunked, loads = run(True)
    plain, no_loads = run(False)
    assert chunked == plain and chunked
    assert no_loads == [] and len(loads) > 3 and max(loads) <= 37
