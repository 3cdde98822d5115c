"""Chalice application: creates the app and registers the blueprints. Glue only."""

from chalice import Chalice

from chalicelib import jobs
from chalicelib.api import agent, tickets, webhooks
from chalicelib.log import configure_logging

app = Chalice(app_name="helpdesk")
configure_logging(app)
app.register_blueprint(webhooks.bp)
app.register_blueprint(tickets.bp)
app.register_blueprint(agent.bp)
app.register_blueprint(jobs.bp)
