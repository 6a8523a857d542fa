"""seizure_reappearance: a document, vehicle or phone of a seizure back at a crossing."""

from borderhub.avro import encode_single_object
from services.correlate.rules import SeizureReappearance, rule_alert
from tests.unit.test_rules_common import NOW, Worker, at, conveyance, crossing, eid, seizure, traveller

PHONE = "+525512345678"


def seized(label="s1", t=None, port="USSYS"):
    return seizure(label, t or at(), port, docs=[("X1234567", "MX")], phones=[PHONE],
                   conv=conveyance(plate="ABC-123", plate_country="MX"), persons=[traveller()], case="CASE-7")


def test_keys_are_the_documents_vehicles_and_phones():
    keys = SeizureReappearance().keys("seizures", seized())
    assert sorted(keys) == sorted(["doc:MX:X1234567", "vehicle:MX:ABC123", f"phone:{PHONE}"])  # no person, port


def test_a_seized_document_crossing_again_is_a_high_alert(catalog):
    worker = Worker(SeizureReappearance())
    assert worker.feed("seizures", seized()) == []
    later = crossing("c1", at(days=10), "USMIA")
    [hit] = worker.feed("crossings", later)
    assert hit.severity == "HIGH" and hit.key == "doc:MX:X1234567"
    assert sorted(hit.event_ids) == sorted([eid("c1"), eid("s1")])
    assert "USMIA" in hit.subject and "CASE-7" in hit.explanation[0]["detail"]
    alert = rule_alert(hit, "crossings", later, NOW)
    assert alert["related_event_ids"] == [eid("s1")]
    encode_single_object(catalog.get("alerts"), alert)


def test_the_vehicle_and_the_phone_are_found_whatever_the_spelling():
    worker = Worker(SeizureReappearance())
    worker.feed("seizures", seized())
    car = crossing("c1", at(days=3), "USOYM", mode="LAND", doc=("OTHER1", "US"),
                   conv=conveyance(plate="abc 123", plate_country="MX"))
    assert [h.key for h in worker.feed("crossings", car)] == ["vehicle:MX:ABC123"]
    phone = crossing("c2", at(days=4), "USMIA", doc=("OTHER2", "US"), phones=[PHONE])
    assert [h.key for h in worker.feed("crossings", phone)] == [f"phone:{PHONE}"]


def test_every_seizure_of_the_entity_is_listed_in_one_hit():
    worker = Worker(SeizureReappearance())
    worker.feed("seizures", seized("s1", at()))
    worker.feed("seizures", seized("s2", at(days=30), "USLRD"))
    [doc_hit] = [h for h in worker.feed("crossings", crossing("c", at(days=40))) if h.key.startswith("doc:")]
    assert sorted(doc_hit.event_ids) == sorted([eid("c"), eid("s1"), eid("s2")])
    assert len(doc_hit.explanation) == 2


def test_no_hit_for_other_entities_earlier_crossings_or_the_seizing_passage_itself():
    worker = Worker(SeizureReappearance())
    worker.feed("seizures", seized("s1", at(days=5)))
    assert worker.feed("crossings", crossing("other", at(days=6), doc=("Z9", "US"))) == []
    assert worker.feed("crossings", crossing("before", at(days=4))) == []  # crossed before the seizure
    # The crossing record of the passage the seizure was made at: same port, minutes later.
    assert worker.feed("crossings", crossing("scene", at(days=5, minutes=30), "USSYS")) == []
    assert len(worker.feed("crossings", crossing("back", at(days=5, hours=5), "USSYS"))) == 1


def test_seizures_expire_after_the_window_and_their_state_goes():
    worker = Worker(SeizureReappearance(window_days=365))
    worker.feed("seizures", seized())
    assert worker.feed("crossings", crossing("c", at(days=400))) == []
    assert worker.state("doc:MX:X1234567") is None  # nothing left to keep: the key is deleted
    # A crossing of an entity never seized leaves no state at all.
    worker.feed("crossings", crossing("clean", at(), doc=("CLEAN1", "US")))
    assert worker.state("doc:US:CLEAN1") is None


def test_state_is_bounded_and_replays_are_counted_once():
    worker = Worker(SeizureReappearance(max_seizures=20))
    for i in range(50):
        worker.feed("seizures", seized(f"s{i}", at(days=i)))
    worker.feed("seizures", seized("s49", at(days=49)))  # replayed
    stored = worker.state(f"phone:{PHONE}")["seizures"]
    assert len(stored) == 20 and stored[-1][0] == eid("s49") and len({s[0] for s in stored}) == 20
    # A replayed crossing gives the same alert.
    c = crossing("c", at(days=60))
    first = [rule_alert(h, "crossings", c, NOW)["alert_id"] for h in worker.feed("crossings", c)]
    assert first == [rule_alert(h, "crossings", c, NOW)["alert_id"] for h in worker.feed("crossings", c)]


def test_seized_keys_hold_what_seizures_of_the_window_mentioned():
    from services.correlate.rules.seizure_reappearance import SeizedKeys
    rule = SeizureReappearance()
    keys = SeizedKeys(rule)
    event = seized()
    keys.add(event)
    assert set(rule.keys("seizures", event)) and all(k in keys for k in rule.keys("seizures", event))
    assert "phone:+10000000000" not in keys
