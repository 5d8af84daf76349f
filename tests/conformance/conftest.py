"""The conformance suite runs over every registered experiment plus the toy one that only the
tests register (``toy_experiment``, registered for the session in ``tests/conftest.py``)."""
