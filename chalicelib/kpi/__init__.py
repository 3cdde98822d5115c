"""KPI core: facts from timeline events, daily aggregation, statistics, reports. PURE.

Nothing here imports boto3, pynamodb or chalice, and nothing reads the clock:
``now`` and the events are arguments. ``facts`` replays one ticket's timeline
into measured facts (first response, resolution, SLA decisions, escalations,
...) with the real SLA clocks and business calendars; ``backlog`` keeps the
end-of-day snapshot of unsolved tickets; ``report`` turns the facts of a date
range into the KPIs (JSON and CSV); ``stats`` has mean/median/p90 and rates.
"""
