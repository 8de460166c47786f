"""The test suite (``python -m pytest -q``); ``tests.fake_telegram`` is also the benchmarks' fake Bot API."""
