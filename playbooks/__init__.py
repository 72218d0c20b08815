"""Bundled Playbooks and their local catalogs."""
