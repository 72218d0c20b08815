"""CLI sub-commands: each module here defines `register(subparsers)`.

A module adds one or more sub-commands with `subparsers.add_parser(...)` and
sets `func=<callable(args) -> int>` as the parser default. `agi.cli` discovers
the modules, so adding a command never means editing a shared file.
"""
