"""Plain helpers the tests share (no fixtures: those live in tests/conftest.py and the concern conftests)."""
