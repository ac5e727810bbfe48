"""Persistent state: one interface over SQLite (embedded default) and PostgreSQL."""
from bot.store.store import NotMigrated, Person, RosterEntry, Store, database_url

__all__ = ["NotMigrated", "Person", "RosterEntry", "Store", "database_url"]
