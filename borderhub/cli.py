"""The ``borderhub`` command: one entry point for every service and tool."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from borderhub.settings import get_settings
from borderhub.stack.jvm import StackError

app = typer.Typer(help="borderhub: event-driven data hub for border interdiction.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
stack_app = typer.Typer(help="The local Kafka and Elasticsearch (JVM processes, no Docker).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the ingest gateway and the search API.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics of the hub.", no_args_is_help=True)
watchlist_app = typer.Typer(help="Watchlist feeds.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(keys_app, name="keys")
app.add_typer(topics_app, name="topics")
app.add_typer(watchlist_app, name="watchlist")

console = Console(stderr=True)


def _progress(message: str) -> None:
    console.print(f"[dim]•[/dim] {message}")


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(1)


def _print_status(status: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    table = Table("component", "state", "version", "address", "pid")
    for name, s in status.items():
        colour = "green" if s["state"] == "running" else ("yellow" if s["pid"] else "red")
        table.add_row(name, f"[{colour}]{s['state']}[/{colour}]", s.get("version") or "", s.get("address") or "",
                      str(s["pid"] or ""))
    Console().print(table)


# --- stack -----------------------------------------------------------------------------------

@stack_app.command("fetch")
def stack_fetch() -> None:
    """Resolve the Kafka and Elasticsearch artifacts with Maven (once; cached in the virtualenv)."""
    from borderhub.stack import jvm
    settings = get_settings()
    try:
        _, kafka_version = jvm.kafka_classpath(settings, _progress)
        _, es_version = jvm.elasticsearch_home(settings, _progress)
    except StackError as exc:
        _fail(exc)
    _progress(f"Kafka {kafka_version} and Elasticsearch {es_version} ready in {jvm.runtime_dir()}")


@stack_app.command("up")
def stack_up() -> None:
    """Start Kafka (KRaft) and Elasticsearch and wait until both answer. A no-op if running."""
    from borderhub.stack.components import components
    try:
        for component in components(get_settings(), _progress):
            started = component.up()
            _progress(f"{component.name} {'started' if started else 'already running'} at {component.address}")
    except StackError as exc:
        _fail(exc)


@stack_app.command("down")
def stack_down() -> None:
    """Stop Elasticsearch and Kafka cleanly (data is kept)."""
    from borderhub.stack.components import components
    for component in reversed(components(get_settings(), _progress)):
        _progress(f"{component.name} {'stopped' if component.down() else 'was not running'}")


@stack_app.command("status")
def stack_status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """State, version, address and pid of Kafka and Elasticsearch."""
    from borderhub.stack.components import components
    _print_status({c.name: c.status() for c in components(get_settings())}, as_json)


# --- whole system ----------------------------------------------------------------------------

@app.command("up")
def system_up(demo: bool = typer.Option(False, "--demo", help="Also load a demo watchlist and publish traffic.")) -> None:
    """Start the stack and every service, detached; print where everything is."""
    from borderhub.stack import system
    settings = get_settings()
    try:
        system.up(settings, demo=demo, progress=_progress)
    except StackError as exc:
        _fail(exc)
    console.print(f"[green]borderhub is up[/green]\n"
                  f"  search API       http://localhost:{settings.api_port}/docs\n"
                  f"  dashboard        http://localhost:{settings.api_port}/dashboard"
                  f"   (key: borderhub keys create --role operations)\n"
                  f"  ingest gateway   http://localhost:{settings.ingest_port}/docs\n"
                  f"  Kafka            localhost:{settings.kafka_port}\n"
                  f"  Elasticsearch    http://localhost:{settings.es_port}\n"
                  f"  logs             {settings.logs_dir}\n"
                  f"  stop with        borderhub down")


@app.command("down")
def system_down() -> None:
    """Stop every service and the stack."""
    from borderhub.stack import system
    system.down(get_settings(), progress=_progress)


@app.command("status")
def system_status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """State of the stack and of every service."""
    from borderhub.stack import system
    _print_status(system.status(get_settings()), as_json)


# --- topics ----------------------------------------------------------------------------------

@topics_app.command("create")
def topics_create() -> None:
    """Create the hub's topics that do not exist yet."""
    from borderhub.topics import ensure_topics
    created = ensure_topics(get_settings())
    _progress(f"created: {', '.join(created)}" if created else "all topics exist")


# --- keys ------------------------------------------------------------------------------------

@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., "--role", help="producer, officer, investigator, analyst, operations or admin."),
    port: list[str] = typer.Option([], "--port", help="UN/LOCODE a producer key may publish for (repeatable)."),
    name: str = typer.Option("", "--name", help="Who holds the key, for the audit trail."),
) -> None:
    """Create an API key; the key is printed once, as the last line. Only its hash is stored."""
    from borderhub.keys import KeyStore, KeyError_
    try:
        record, secret = KeyStore(get_settings().keys_file).create(role, ports=port, name=name)
    except KeyError_ as exc:
        _fail(exc)
    _progress(f"key {record.key_id} role={record.role} ports={','.join(record.ports) or 'all'}")
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """Keys by id, role and ports (never the secrets)."""
    from borderhub.keys import KeyStore
    table = Table("id", "role", "ports", "name", "created", "revoked")
    for r in KeyStore(get_settings().keys_file).all():
        table.add_row(r.key_id, r.role, ",".join(r.ports) or "all", r.name, r.created_at, r.revoked_at or "")
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id; services notice within seconds."""
    from borderhub.keys import KeyStore, KeyError_
    try:
        KeyStore(get_settings().keys_file).revoke(key_id)
    except KeyError_ as exc:
        _fail(exc)
    _progress(f"revoked {key_id}")


# --- services --------------------------------------------------------------------------------

@app.command("ingest")
def ingest(host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Run the ingest gateway (HTTP JSON/Avro to Kafka)."""
    import uvicorn
    settings = get_settings()
    uvicorn.run("services.ingest.app:create_app", factory=True, host=host or settings.ingest_host,
                port=port or settings.ingest_port, log_level="info", access_log=False)


@app.command("correlate")
def correlate() -> None:
    """Run a correlation worker (faust-streaming); workers share partitions through their group."""
    from services.correlate.app import run
    run(get_settings())


@app.command("indexer")
def indexer() -> None:
    """Run the indexer: Kafka topics to Elasticsearch, bulk, idempotent."""
    from services.search_api.indexer import run
    run(get_settings())


@app.command("search-api")
def search_api(host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Run the investigators' search API and the operations dashboard."""
    import uvicorn
    settings = get_settings()
    uvicorn.run("services.search_api.app:create_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, log_level="info", access_log=False)


# --- watchlists and demo traffic -------------------------------------------------------------

@watchlist_app.command("load")
def watchlist_load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="FtM JSON lines (.json/.jsonl) or CSV."),
    replace: bool = typer.Option(False, "--replace", help="Delete (tombstone) entries of this list not in FILE."),
    source_list: Optional[str] = typer.Option(None, "--list", help="Name of the list (default: file stem)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="ftm or csv (default: by extension)."),
) -> None:
    """Load a watchlist feed into the compacted watchlist topic."""
    from services.ingest.loader import load_watchlist
    summary = load_watchlist(get_settings(), file, replace=replace, source_list=source_list, fmt=fmt)
    for error in summary.errors[:50]:
        console.print(f"[yellow]line {error[0]}:[/yellow] {error[1]}")
    if len(summary.errors) > 50:
        console.print(f"[yellow]... and {len(summary.errors) - 50} more bad lines[/yellow]")
    _progress(f"{summary.published} entries published, {summary.deleted} deleted, {len(summary.errors)} bad lines")
    if summary.published == 0 and summary.errors:
        raise typer.Exit(1)


@app.command("screen")
def screen(
    watchlist: Path = typer.Option(..., "--watchlist", exists=True, dir_okay=False, help="FtM JSON lines."),
    input_file: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help="FtM query entities."),
    output: Path = typer.Option(..., "--output", help="One JSON line of matches per query."),
) -> None:
    """Screen FtM entities (e.g. a pre-arrival manifest) against a watchlist, offline."""
    from services.correlate.screen import screen_files
    summary = screen_files(watchlist, input_file, output)
    for error in summary.watchlist_errors[:20]:
        console.print(f"[yellow]watchlist:[/yellow] {error}")
    rate = summary.queries / summary.screen_seconds if summary.screen_seconds else float("inf")
    _progress(f"{summary.entries} entries loaded in {summary.load_seconds:.1f} s; {summary.queries} queries screened "
              f"({rate:,.0f}/s), {summary.with_matches} with matches -> {output}")


@app.command("simulate")
def simulate(
    rate: float = typer.Option(50.0, "--rate", help="Events per second to publish to the running system."),
    duration: float = typer.Option(60.0, "--duration", help="Seconds to run; 0 runs until stopped."),
    count: Optional[int] = typer.Option(None, "--count", help="Write this many events to --output instead."),
    output: Optional[Path] = typer.Option(None, "--output", help="Directory for the dataset files."),
    seed: int = typer.Option(7, "--seed", help="Seed; the same seed gives the same traffic."),
    load_watchlist: bool = typer.Option(True, "--watchlist/--no-watchlist",
                                        help="Publish the planted watchlist before traffic."),
) -> None:
    """Realistic traffic with planted ground truth: to files (--count/--output) or to the gateway."""
    if count is not None or output is not None:
        if count is None or output is None:
            _fail(ValueError("--count and --output go together"))
        from services.ingest.simulate import write_dataset
        write_dataset(count, output, seed=seed)
        _progress(f"wrote {count} events and truth.json to {output}")
        return
    from services.ingest.traffic import run_traffic
    run_traffic(get_settings(), rate=rate, duration=duration, seed=seed, load_watchlist=load_watchlist,
                progress=_progress)


@app.command("bench")
def bench(
    suite: str = typer.Option("ingest", "--suite", help="ingest, correlate, stream, index, search or all."),
    events: Optional[int] = typer.Option(
        None, "--events", help="Events per measurement (default 20,000); search: events indexed (default 1,000,000)."),
    entries: int = typer.Option(1_000_000, "--entries", help="Watchlist size for the correlate and stream suites "
                                "(stream: 0 = whatever watchlist.entries.v1 holds)."),
    reload: bool = typer.Option(False, "--reload", help="search: drop and reload the bench indices, even when "
                                                        "they already hold --events events."),
    clients: int = typer.Option(20, "--clients", help="search: concurrent clients."),
    duration: float = typer.Option(30.0, "--duration", help="search: seconds per measured phase."),
    think: float = typer.Option(0.0, "--think", help="search: mean seconds each client waits between requests, "
                                                     "exponentially distributed (0: none)."),
    output: Path = typer.Option(Path(".bench/results.json"), "--output", help="Where to save the numbers."),
) -> None:
    """Measure throughput and latency against baselines taken in the same run."""
    from borderhub import bench as benchmarks
    from borderhub.stack.components import components
    from borderhub.topics import ensure_topics
    settings = get_settings()
    suites = tuple(benchmarks.SUITES) if suite == "all" else (suite,)
    unknown = set(suites) - set(benchmarks.SUITES)
    if unknown:
        _fail(ValueError(f"unknown suite {', '.join(sorted(unknown))}"))
    try:
        if set(suites) & {"ingest", "stream", "index", "search"}:
            for component in components(settings, _progress):
                component.up()
            ensure_topics(settings)  # `stack up` starts the servers only
    except StackError as exc:
        _fail(exc)
    for name in suites:
        options = ({"reload": reload, "clients": clients, "duration": duration, "think": think}
                   if name == "search" else {})
        n_events = events or (1_000_000 if name == "search" else 20_000)
        results = benchmarks.SUITES[name](settings, events=n_events, entries=entries, **options)
        benchmarks.print_results(results)
        path = output.with_name(f"{output.stem}-{name}{output.suffix}")
        benchmarks.save(results, path)
        _progress(f"saved to {path}")


def main() -> None:
    app()
