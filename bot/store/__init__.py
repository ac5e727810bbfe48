"""Persistent state: one interface over SQLite (embedded default) and PostgreSQL."""
from bot.core.models import RosterEntry
from bot.store.people import Person
from bot.store.store import NotMigrated, Store, database_url

__all__ = ["NotMigrated", "Person", "RosterEntry", "Store", "database_url"]
