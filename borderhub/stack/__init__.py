"""The local stack: real Kafka and Elasticsearch as JVM processes, no Docker."""
