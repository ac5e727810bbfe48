"""Persistent state: one interface over SQLite (embedded default) and PostgreSQL."""
from bot.store.people import Person, RosterEntry
from bot.store.store import NotMigrated, Store, database_url

__all__ = ["NotMigrated", "Person", "RosterEntry", "Store", "database_url"]
