"""Built-in plugins. Every module here is loaded as a plugin at start-up."""
