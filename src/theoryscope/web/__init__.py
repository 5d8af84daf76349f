"""The web lab: an ASGI app (FastAPI) serving the Expander Nets page and a JSON + WebSocket API.

``create_app`` (in :mod:`.app`) builds the app for tests; ``serve`` (in :mod:`.server`) runs it
with uvicorn on loopback. Runs go through :func:`theoryscope.runner.execute`, exactly like CLI runs.
"""
