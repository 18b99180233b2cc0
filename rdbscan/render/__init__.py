"""Report sections rendered for people and programs: table, JSON, CSV, Markdown."""
