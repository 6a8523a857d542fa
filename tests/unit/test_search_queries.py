"""The search API's pure parts: Elasticsearch bodies from validated parameters (no user input
becomes query syntax), cursors, watchlist identifiers of graph nodes, triage updates, the
vector stripping, the rate limiter and the export rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.search_api import queries as q
from services.search_api.routes.exports import csv_cell, export_row, geojson_feature
from services.search_api.security import RateLimiter, SafeJSONResponse, normalise_params, strip_vectors

UTC = dt.timezone.utc
HOSTILE = ['name:"x" OR *:*', "foo AND (bar", "\\", "*", "?", "{\"match_all\":{}}", "a~2 b^3", "/.*/"]
PARSER_QUERIES = {"query_string", "simple_query_string", "script", "script_score", "regexp", "wildcard"}


def walk_keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from walk_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_keys(v)


def walk_values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from walk_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_values(v)
    else:
        yield value


def every_filter(text: str) -> q.EventFilters:
    return q.EventFilters(q=text, kinds=("crossing",), ports=("USMIA",), time_from=dt.datetime(2026, 1, 1),
                          time_to=dt.datetime(2026, 2, 1, tzinfo=UTC), nationality="MX", document=text,
                          category="NARCOTICS", substance=text, plate=text, vessel=text, flight="AA 12",
                          radius=q.GeoRadius(25.7, -80.2, 50), box=q.GeoBox(30, -90, 20, -70))


# --- no input becomes query syntax ----------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_lands_only_in_values_of_structured_queries(text):
    bodies = [q.event_query(every_filter(text)), q.timeline_query("doc:MX:" + text), q.links_query(["doc:MX:" + text]),
              q.alert_query(q.AlertFilters(source_list=text, statuses=("new",))),
              q.audit_query(q.AuditFilters(key_id=text, action=text))]
    for body in bodies:
        assert not PARSER_QUERIES & set(walk_keys(body)), body
        # The text is never a key: it cannot name a field or a query type.
        assert text not in set(walk_keys(body))
    assert text in set(walk_values(bodies[0]))


def test_full_text_uses_fuzzy_names_and_prefixes():
    body = q.event_query(q.EventFilters(q="Jose Gutierez"))
    should = body["bool"]["must"][0]["bool"]["should"]
    names = should[0]["multi_match"]
    assert names["fuzziness"] == "AUTO" and "names^3" in names["fields"] and names["query"] == "Jose Gutierez"
    assert should[1] == {"match": {"names.prefix": {"query": "Jose Gutierez", "operator": "and", "boost": 1.5}}}
    assert body["bool"]["must"][0]["bool"]["minimum_should_match"] == 1
    assert body["bool"]["filter"] == []


def test_fuzzy_names_are_looked_up_once_in_the_field_holding_every_name():
    should = q.event_query(q.EventFilters(q="Ivanova"))["bool"]["must"][0]["bool"]["should"]
    assert [c["multi_match"]["fields"] for c in should if "multi_match" in c and "fuzziness" in c["multi_match"]] == [
        ["names^3"]]


@pytest.mark.parametrize("text, name", [
    ("Gutierez", True), ("Jose Gutierrez", True), ("임", True), ("O'Brien", True),
    ("J0SE", True),  # OCR: a zero for an O is one edit
    ("X1234567", False), ("AB123456", False), ("KA-01-AB-1234", False), ("CASE-xyz-12", False),
    ("+5215512345678", False), ("Garcia 1985", False)])
def test_name_clauses_only_where_a_name_could_match(text, name):
    assert q.could_be_a_name(text) is name
    should = q.event_query(q.EventFilters(q=text))["bool"]["must"][0]["bool"]["should"]
    has_names = any("names.prefix" in c.get("match", {}) for c in should)
    assert has_names is name
    # identifiers are always looked up
    assert {"terms": {"document_numbers": sorted({text.upper(), q.normalize_document_number(text.upper()) or
                                                  text.upper()}), "boost": 4}} in should


def test_no_query_text_means_filters_only():
    body = q.event_query(q.EventFilters(kinds=("seizure",)))
    assert "must" not in body["bool"]
    assert body["bool"]["filter"] == [{"terms": {"kind": ["seizure"]}}]


def test_filters():
    clauses = q.event_filter_clauses(every_filter("ab-12 3"))
    assert {"terms": {"kind": ["crossing"]}} in clauses
    assert {"terms": {"port_locode": ["USMIA"]}} in clauses
    # naive times are UTC; the range is [from, to)
    assert {"range": {"@timestamp": {"gte": "2026-01-01T00:00:00.000Z", "lt": "2026-02-01T00:00:00.000Z"}}} in clauses
    assert {"term": {"nationalities": "MX"}} in clauses
    assert {"terms": {"document_numbers": ["AB-12 3", "AB123"]}} in clauses
    assert {"terms": {"plates": ["AB-12 3", "AB123"]}} in clauses
    assert {"term": {"category": "NARCOTICS"}} in clauses
    assert {"nested": {"path": "items", "query": {"term": {"items.substance": "ab-12 3"}}}} in clauses
    assert {"term": {"conveyance.flight_number": "AA12"}} in clauses


def test_geo_radius_and_box_match_event_or_port_position():
    clauses = q.event_filter_clauses(q.EventFilters(radius=q.GeoRadius(25.7, -80.2, 12.5),
                                                    box=q.GeoBox(30, -90, 20, -70)))
    radius, box = clauses
    assert radius["bool"]["should"][0] == {
        "geo_distance": {"distance": "12.5km", "location": {"lat": 25.7, "lon": -80.2}}}
    assert radius["bool"]["should"][1]["geo_distance"]["port_location"] == {"lat": 25.7, "lon": -80.2}
    assert box["bool"]["should"][1] == {"geo_bounding_box": {"port_location": {
        "top_left": {"lat": 30, "lon": -90}, "bottom_right": {"lat": 20, "lon": -70}}}}


@pytest.mark.parametrize("vessel, expected", [
    ("IMO 9074729", {"term": {"conveyance.vessel_imo": "9074729"}}),
    ("9074729", {"term": {"conveyance.vessel_imo": "9074729"}}),
    ("366123456", {"term": {"conveyance.vessel_mmsi": "366123456"}}),
    ("Ever Given", {"match": {"conveyance.vessel_name": {"query": "Ever Given", "operator": "and"}}}),
])
def test_vessel_clause(vessel, expected):
    assert q.vessel_clause(vessel) == expected


def test_sorts_end_with_a_unique_tiebreaker():
    assert q.event_sort("time_desc") == [{"@timestamp": "desc"}, {"event_id": "asc"}]
    assert q.event_sort("time_asc")[0] == {"@timestamp": "asc"}
    assert q.event_sort("relevance") == [{"_score": "desc"}, {"event_id": "asc"}]
    with pytest.raises(ValueError):
        q.event_sort("_id")


def test_newest_first_pages_sort_as_their_indices_are_sorted():
    """Early termination needs the query's sort to be the index sort, tiebreaker included."""
    from services.search_api.indices import alerts_index, events_template

    def index_sort(settings):
        return [{f: o} for f, o in zip(settings["sort"]["field"], settings["sort"]["order"])]
    assert q.event_sort("time_desc") == index_sort(events_template()["template"]["settings"])
    assert q.ALERT_SORT == index_sort(alerts_index()["settings"]) == [{"created_at": "desc"}, {"alert_id": "asc"}]


def test_facets():
    aggs = q.facet_aggs()
    assert aggs["nationality"] == {"terms": {"field": "nationalities", "size": 20}}
    assert q.facets_from({"kind": {"buckets": [{"key": "crossing", "doc_count": 3}]}}) == {
        "kind": [{"key": "crossing", "count": 3}]}


# --- entities and the watchlist ------------------------------------------------------------

@pytest.mark.parametrize("key, ok", [
    ("doc:MX:X1234567", True), ("phone:+525512345678", True), ("person:0123abcd", True),
    ("vessel:imo:9074729", True), ("port:USMIA", True), ("seizure:abc", True),
    ("email:x@y", False), ("doc:", False), ("doc:MX X", False), ("", False), ("doc:\x00", False),
])
def test_entity_keys(key, ok):
    assert q.is_entity_key(key) is ok


def test_timeline_query():
    body = q.timeline_query("doc:MX:X1", dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert body == {"bool": {"filter": [{"term": {"entities": "doc:MX:X1"}},
                                        {"range": {"@timestamp": {"gte": "2026-01-01T00:00:00.000Z"}}}]}}


def test_identifiers_of_graph_nodes():
    assert q.identifier_of("doc:MX:X123") == q.Identifier(("PASSPORT", "ID_CARD", "OTHER_DOCUMENT"), "X123", "MX")
    assert q.identifier_of("vehicle:??:ABC1") == q.Identifier(("VEHICLE_PLATE",), "ABC1", None)
    assert q.identifier_of("phone:+5255") == q.Identifier(("PHONE",), "+5255")
    assert q.identifier_of("vessel:imo:9074729") == q.Identifier(("IMO",), "9074729")
    assert q.identifier_of("vessel:mmsi:366123456") == q.Identifier(("MMSI",), "366123456")
    assert q.identifier_of("person:abc") is None
    assert q.identifier_of("port:USMIA") is None


def test_listed_matches_compare_normalised_identifiers_countries_and_validity():
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    entries = [
        {"entry_id": "a", "source_list": "sltd", "action_on_hit": "SEIZE_DOCUMENT",
         "identifiers": [{"scheme": "PASSPORT", "value": "x 123", "country": "MX"}]},
        {"entry_id": "b", "identifiers": [{"scheme": "PASSPORT", "value": "X123", "country": "US"}]},
        {"entry_id": "c", "valid_until": "2026-01-01T00:00:00.000Z",
         "identifiers": [{"scheme": "PASSPORT", "value": "X123", "country": "MX"}]},
        {"entry_id": "d", "identifiers": [{"scheme": "PHONE", "value": "X123"}]},
    ]
    found = q.listed_matches(q.identifier_of("doc:MX:X123"), entries, now)
    assert found == [{"entry_id": "a", "source_list": "sltd", "action_on_hit": "SEIZE_DOCUMENT"}]
    assert q.watchlist_identifier_query([q.identifier_of("doc:MX:X123"), q.identifier_of("phone:+1")]) == {
        "bool": {"filter": [{"terms": {"identifiers.value": ["+1", "X123"]}}]}}


# --- alerts ---------------------------------------------------------------------------------

def test_new_alerts_include_untriaged_and_the_indexers_spelling():
    clause = q.status_clause(("new",))
    assert clause["bool"]["should"][0] == {"terms": {"status": ["NEW", "new"]}}
    assert clause["bool"]["should"][1] == {"bool": {"must_not": [{"exists": {"field": "status"}}]}}
    assert len(q.status_clause(("confirmed",))["bool"]["should"]) == 1


def test_alert_query():
    body = q.alert_query(q.AlertFilters(severities=("HIGH",), source_list="interpol", ports=("USMIA",),
                                        time_to=dt.datetime(2026, 1, 1, tzinfo=UTC)))
    assert body["bool"]["filter"] == [{"terms": {"severity": ["HIGH"]}}, {"term": {"source_list": "interpol"}},
                                      {"terms": {"port_locode": ["USMIA"]}},
                                      {"range": {"created_at": {"lt": "2026-01-01T00:00:00.000Z"}}}]


def test_triage_update_appends_to_history_without_touching_the_input():
    alert = {"status": "NEW", "history": [{"status": "in_review", "by": "k0"}]}
    at = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    update = q.triage_update(alert, "confirmed", "ana", "same passport as case 12", at, by="k1",
                             by_name="Ana", by_role="investigator")
    assert update["status"] == "confirmed" and update["assignee"] == "ana"
    assert update["updated_at"] == "2026-03-01T12:00:00.000Z"
    assert update["history"][-1] == {"at": "2026-03-01T12:00:00.000Z", "by": "k1", "by_name": "Ana",
                                     "by_role": "investigator", "status": "confirmed", "assignee": "ana",
                                     "note": "same passport as case 12"}
    assert len(update["history"]) == 2 and len(alert["history"]) == 1
    assert "assignee" not in q.triage_update(alert, "escalated", None, None, at, by="k1")
    with pytest.raises(ValueError):
        q.triage_update(alert, "deleted", None, None, at, by="k1")
    assert q.with_triage_defaults({"status": "NEW"}) == {"status": "new", "assignee": None, "history": []}


# --- statistics -----------------------------------------------------------------------------

def test_period_checks():
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    q.check_period(start, start + dt.timedelta(days=30), "hour")
    with pytest.raises(ValueError, match="after"):
        q.check_period(start, start, "day")
    with pytest.raises(ValueError, match="buckets"):
        q.check_period(start, start + dt.timedelta(days=365), "hour")


def test_seizure_stats_body():
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    body = q.seizure_stats_body(start, start + dt.timedelta(days=7), "day", ("USMIA",), "NARCOTICS")
    assert {"terms": {"kind": ["seizure"]}} in body["query"]["bool"]["filter"]
    assert body["aggs"]["items"]["nested"] == {"path": "items"}
    assert body["aggs"]["over_time"]["date_histogram"]["calendar_interval"] == "day"
    assert body["size"] == 0


# --- cursors --------------------------------------------------------------------------------

def test_cursor_round_trip():
    fp = q.fingerprint({"q": "x", "kinds": ["crossing"]})
    cursor = q.Cursor(after=[1767225600000, "e-1"], fingerprint=fp, pit="abc123==")
    token = q.encode_cursor(cursor)
    assert "=" not in token and "+" not in token and "/" not in token
    decoded = q.decode_cursor(token, fp, 2)
    assert decoded.after == [1767225600000, "e-1"] and decoded.pit == "abc123==" and decoded.fingerprint == fp
    assert q.decode_cursor(q.encode_cursor(q.Cursor([1.5, "e"], fp)), fp, 2).pit is None


def test_fingerprint_is_order_independent_and_value_sensitive():
    assert q.fingerprint({"a": 1, "b": [1, 2]}) == q.fingerprint({"b": [1, 2], "a": 1})
    assert q.fingerprint({"a": 1}) != q.fingerprint({"a": 2})


def _raw_token(payload) -> str:
    import base64
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("token", [
    "", "not base64 !!", "abc", "x" * 9000,
    _raw_token([1, 2]),
    _raw_token({"v": 2, "a": [1, "x"], "f": "fp"}),
    _raw_token({"v": 1, "a": [1], "f": "fp"}),  # wrong number of sort values
    _raw_token({"v": 1, "a": [True, "x"], "f": "fp"}),
    _raw_token({"v": 1, "a": [{"match_all": {}}, "x"], "f": "fp"}),
    _raw_token({"v": 1, "a": [1, "x" * 600], "f": "fp"}),
    _raw_token({"v": 1, "a": [1, "x"], "f": "fp", "p": "bad pit id with spaces"}),
    _raw_token({"v": 1, "a": [1, "x"], "f": "another"}),
])
def test_bad_cursors_are_refused(token):
    with pytest.raises(q.CursorError):
        q.decode_cursor(token, "fp", 2)


def test_a_cursor_of_another_query_is_refused_with_a_clear_message():
    token = q.encode_cursor(q.Cursor([1, "x"], q.fingerprint({"q": "a"})))
    with pytest.raises(q.CursorError, match="another query"):
        q.decode_cursor(token, q.fingerprint({"q": "b"}), 2)


# --- biometric templates never leave --------------------------------------------------------

def test_vectors_are_stripped_at_any_depth():
    doc = {"template": {"modality": "FACE", "vector": [0.1], "face_vector": [0.2]},
           "biometric_templates": [{"modality": "IRIS", "vector": [1.0]}], "items": [{"vector_name": "kept"}],
           "nested": [[{"iris_vector": [3]}]]}
    assert strip_vectors(doc) == {"template": {"modality": "FACE"}, "biometric_templates": [{"modality": "IRIS"}],
                                  "items": [{"vector_name": "kept"}], "nested": [[{}]]}


def test_safe_json_response_renders_without_vectors():
    body = json.loads(SafeJSONResponse({"results": [{"template": {"face_vector": [1, 2]}, "id": "a"}]}).body)
    assert body == {"results": [{"template": {}, "id": "a"}]}


# --- rate limit -----------------------------------------------------------------------------

def test_token_bucket_per_key():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("a")
    assert wait == pytest.approx(20.0)  # 3 per minute: one token every 20 s
    assert limiter.take("b") == 0  # another key has its own bucket
    now[0] += 20
    assert limiter.take("a") == 0
    assert limiter.take("a") > 0


# --- audit and exports ----------------------------------------------------------------------

def test_audit_params_are_normalised_strings():
    params = normalise_params({"q": "x", "kinds": ("crossing",), "from": dt.datetime(2026, 1, 1, tzinfo=UTC),
                               "facets": True, "size": 50, "none": None, "empty": ()})
    assert params == {"facets": "true", "from": "2026-01-01T00:00:00.000Z", "kinds": ["crossing"], "q": "x",
                      "size": "50"}


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"),
    ("+525512345678", "+525512345678"), ("-117.03", "-117.03"), (None, ""), (["a", "b"], "a; b"), ("Ana", "Ana"),
])
def test_csv_cells_cannot_run_formulas(value, expected):
    assert csv_cell(value) == expected


def test_export_rows_and_features():
    source = {"event_id": "e1", "kind": "seizure", "@timestamp": "2026-01-01T00:00:00.000Z", "port_locode": "USMIA",
              "port_location": {"lat": 25.7, "lon": -80.2}, "names": ["Ana"], "category": "NARCOTICS",
              "items": [{"substance": "cocaine"}, {"substance": "cocaine"}, {"substance": None}],
              "template": {"face_vector": [1.0]}}
    row = export_row(source)
    assert row["lat"] == 25.7 and row["lon"] == -80.2 and row["substances"] == ["cocaine"]
    assert "template" not in row and not any("vector" in k for k in row)
    feature = geojson_feature({**source, "location": {"lat": 1.0, "lon": 2.0}})
    assert feature["geometry"] == {"type": "Point", "coordinates": [2.0, 1.0]} and feature["id"] == "e1"
    assert geojson_feature({"event_id": "x"})["geometry"] is None
