"""Command line: Typer subcommands and the interactive `spp > ` shell."""
