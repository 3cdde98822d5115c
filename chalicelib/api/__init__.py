"""Chalice blueprints: parse the request, call one service, map errors."""
