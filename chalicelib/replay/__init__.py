"""Replay recorded ticket history against rule sets and diff what would have happened.

Modules, one concept each (all PURE except ``source`` and ``run``):

- ``history``: the exported history format (JSON Lines, one ticket a line) and its parser.
- ``inputs``: what people did (customer messages, agent replies and changes, escalations)
  told apart from what the rules did, from one recorded timeline.
- ``simulate``: one ticket's inputs through the production decision functions
  (``services.decide``) with a simulated clock, swept at every minute something is due,
  effects kept in memory.
- ``compare``: two simulations of one ticket -> the differences; ``Summary`` adds them up.
- ``render``: text, JSON and a Markdown pull-request comment.
- ``redact``: stable pseudonyms for names, addresses and bodies (``export --redact``).
- ``source``: read the stored history from the table (read-only).
- ``run``: load both rule sets (a directory or a git ref), stream tickets through two workers.
"""
