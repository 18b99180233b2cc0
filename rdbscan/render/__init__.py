"""Report sections rendered for people and programs: table, JSON, CSV, Markdown, and a self-contained HTML page."""
