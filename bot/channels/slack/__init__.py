"""Slack: the Bolt app behind ``POST /slack/events`` (or Socket Mode) and proactive sends.

Modules: ``app`` (the Bolt app: requests in, replies out), ``client`` (Web API clients and the
shared HTTP session), ``identity`` (who a Slack user is), ``render`` (Block Kit), ``modals``
(the forms), ``transport`` (the outbox sender's Slack), ``manifest`` (the app manifest).
Every module logs under ``bot.channels.slack``.
"""
