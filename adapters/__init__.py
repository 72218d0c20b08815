"""POS adapters: catalog in, ticket out."""
