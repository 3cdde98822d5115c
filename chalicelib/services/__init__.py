"""Use cases: ingest, views, ... Each combines the store, the engine and the plugins."""
