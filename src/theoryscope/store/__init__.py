"""The SQLite run store (see :mod:`.runstore`)."""

from theoryscope.store.errors import StoreDamagedError, StoreFullError, StorePathError
from theoryscope.store.export import EXPORT_FORMATS, export_run
from theoryscope.store.runstore import ENV_VAR, RunStore, StoredRun, default_store_path, to_json

__all__ = [
    "ENV_VAR",
    "EXPORT_FORMATS",
    "RunStore",
    "StoreDamagedError",
    "StoreFullError",
    "StorePathError",
    "StoredRun",
    "default_store_path",
    "export_run",
    "to_json",
]
