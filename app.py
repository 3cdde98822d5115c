"""Chalice application: creates the app and registers the blueprints. Glue only."""

from chalice import Chalice

from chalicelib import jobs, kpi_jobs, mail_jobs, reply_jobs
from chalicelib.api import (
    agent,
    agents,
    attachments,
    bulk,
    console,
    customers,
    escalations,
    openapi,
    outbox,
    reports,
    tickets,
    webhooks,
)
from chalicelib.instrument import instrument
from chalicelib.log import configure_logging
from chalicelib.plugin_manager import get_plugin_manager

# Load and check the plugins now: a hook name a plugin misspelled stops start-up (pluggy's
# check_pending), instead of answering 500 at the first request.
get_plugin_manager()

app = Chalice(app_name="helpdesk")
configure_logging(app)
instrument(app)
app.register_blueprint(webhooks.bp)
app.register_blueprint(tickets.bp)
app.register_blueprint(agent.bp)
app.register_blueprint(attachments.bp)
app.register_blueprint(agents.bp)
app.register_blueprint(bulk.bp)
app.register_blueprint(escalations.bp)
app.register_blueprint(outbox.bp)
app.register_blueprint(jobs.bp)
app.register_blueprint(customers.bp)
app.register_blueprint(mail_jobs.bp)
app.register_blueprint(reports.bp)
app.register_blueprint(console.bp)
app.register_blueprint(kpi_jobs.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(reply_jobs.bp)
