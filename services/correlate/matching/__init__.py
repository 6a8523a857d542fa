"""The pure matching engine of issue 3 (no Kafka): names, watchlist index, scoring, biometric
gallery and the Matcher tying them together."""
