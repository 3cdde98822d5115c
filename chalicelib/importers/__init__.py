"""Importers: other help desks' exported configuration -> our rule and calendar files. PURE."""
