"""``python -m rag.cli``: the ``rag`` command."""

from rag.cli.main import run

run()
