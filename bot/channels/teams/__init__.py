"""Microsoft Teams: the Bot Framework adapter, the ``/api/messages`` endpoint and proactive sends.

This is the only package that imports ``botbuilder`` (moving to the Microsoft 365 Agents SDK
touches this package and its tests). It translates Teams activities into
:class:`~bot.messages.Incoming`, hands them to the coach, and sends the replies back as
Adaptive Cards (:mod:`bot.channels.teams.render`). It decides nothing.

- Personal chat: typed commands; card buttons are ``Action.Execute`` invokes answered with the
  refreshed card (in place). ``Action.Submit`` from older clients updates the card with
  ``update_activity``. A card form's submit carries the inputs' values beside the action; they
  reach the coach as ``Incoming.values``.
- Team channels: the bot answers when mentioned. A reply that shows one person's own data
  (``Reply.ephemeral``) goes to that person's personal chat; the channel gets a short note.
- Installation (``conversationUpdate`` / ``installationUpdate``) stores the conversation
  reference; uninstalling deletes it and parks the outbox messages for that chat or channel with
  the reason (nothing more is sent there), and installing again resumes them.
- Every other activity type (reactions, typing, events, end of conversation, message edits …) is
  answered 200 with one DEBUG line naming it; invokes the app does not declare keep the SDK's 501.
  Card presses of any release are answered (:mod:`bot.actions`).
- Every turn refreshes the conversation reference, but writes it only when it (or the physician it
  belongs to) changed since this process last wrote it.
  :class:`~bot.channels.teams.transport.TeamsTransport` sends through stored references.
- The Bot Connector clients botbuilder builds for each activity are kept and reused
  (:class:`~bot.channels.teams.adapter.ReusingAuthentication`).
- A turn's replies and the sender's member lookup go to the Bot Connector REST API as plain JSON
  on the server's shared HTTP session, with the bot's token from the turn's credentials
  (:class:`~bot.channels.teams.replies.TurnConnector`); updating a pressed card, opening a
  personal chat from a channel and proactive sends still use the SDK's connector client.

Logs carry activity types and ids, never message text.

Modules: ``adapter`` (the ``CloudAdapter`` and its kept connector clients; one per process),
``activities`` (translation, pure), ``handler`` (the bot), ``replies`` (a turn's Bot Connector calls),
``endpoint`` (``POST /api/messages``),
``transport`` (proactive sends), ``render`` (Adaptive Cards), ``graph`` and ``install``
(installing the app through Microsoft Graph), ``package`` (the app zip). Settings come from
:mod:`bot.settings`; every module logs under ``bot.channels.teams``.
"""
