"""One router per concern: ``api`` (meta, validation, theory preview), ``runs`` (the store:
history, series, export), ``live`` (start / pause / resume / stop and the WebSocket stream)."""
