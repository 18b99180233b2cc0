"""``python -m rdbscan``: the same CLI as the ``rdbscan`` command."""

from rdbscan.cli import run

run()
