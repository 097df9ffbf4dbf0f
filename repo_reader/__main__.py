"""`python -m repo_reader` runs the CLI."""

from repo_reader.cli import main

main()
