"""The model-based test of exactly-once (tests/model): its model, its hands and its figures."""
