"""Proactive messages: the scheduler plans them into the outbox; the sender delivers them."""
