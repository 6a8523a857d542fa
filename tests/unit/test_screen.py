"""`borderhub screen`: one output line per query, matches at or above the threshold, best first."""

import json

from typer.testing import CliRunner

from borderhub.cli import app

WATCHLIST = [
    {"id": "wl-petrov", "schema": "Person", "properties": {
        "name": ["Viktor Sergeyevich Petrov"], "birthDate": ["1971-03-02"], "nationality": ["ru"], "topics": ["wanted"]}},
    {"id": "wl-acme", "schema": "Company", "properties": {"name": ["Acme Logistics Ltd"], "topics": ["crime"]}},
]
QUERIES = [
    {"id": "q-cyrillic", "schema": "Person", "properties": {"name": ["Виктор Петров"], "birthDate": ["1971-03-02"]}},
    {"id": "q-namesake", "schema": "Person", "properties": {"name": ["Viktor Petrov"], "birthDate": ["1992-11-30"],
                                                           "nationality": ["bg"]}},
    {"id": "q-nobody", "schema": "Person", "properties": {"name": ["Aiko Tanaka"], "birthDate": ["1988-01-01"]}},
    {"id": "q-company", "schema": "Company", "properties": {"name": ["ACME LOGISTICS LIMITED"]}},
]


def write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


def test_screen_contract(tmp_path):
    write(tmp_path / "w.jsonl", WATCHLIST)
    write(tmp_path / "q.jsonl", QUERIES)
    result = CliRunner().invoke(app, ["screen", "--watchlist", str(tmp_path / "w.jsonl"), "--input",
                                      str(tmp_path / "q.jsonl"), "--output", str(tmp_path / "h.jsonl")])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "h.jsonl").read_text().splitlines()]
    by_query = {line["query_id"]: line["matches"] for line in lines}
    assert list(by_query) == [q["id"] for q in QUERIES]  # one line per query, in order
    assert [m["entity_id"] for m in by_query["q-cyrillic"]] == ["wl-petrov"]
    assert by_query["q-namesake"] == [] and by_query["q-nobody"] == []
    assert [m["entity_id"] for m in by_query["q-company"]] == ["wl-acme"]
    top = by_query["q-cyrillic"][0]
    assert 0 < top["score"] <= 1 and {f["feature"] for f in top["explanation"]} >= {"name_similarity", "birth_date"}
