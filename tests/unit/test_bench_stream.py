"""The stream bench's records are what the gateway would accept (services/correlate/bench_stream.py)."""

from borderhub.avro import AvroCodec, SchemaCatalog
from borderhub.domain.events import CHECKS
from borderhub.settings import Settings
from services.correlate.bench_stream import bench_records


def test_bench_records_decode_and_pass_the_gateway_checks():
    settings = Settings()
    values, rejected = bench_records(settings, 60)
    codec = AvroCodec(SchemaCatalog(settings.schemas_dir))
    assert len(values) + rejected == 60 and len(values) >= 55
    for value in values:
        datum = codec.decode(value, reader="crossings")
        assert datum["event_id"] and not CHECKS["crossings"](datum)
