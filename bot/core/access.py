"""Who is a marketing manager (an admin): the one rule every channel and the coach apply."""
from __future__ import annotations

from collections.abc import Collection
from typing import Protocol


class Member(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def email(self) -> str: ...


def is_admin(person: Member, admins: Collection[str]) -> bool:
    """The admin role on the roster, or an email listed under ``admins`` in the configuration."""
    return person.role == "admin" or (bool(person.email) and person.email.lower() in admins)
