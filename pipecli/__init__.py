"""pipe: a prospect pipeline kept as plain YAML files in a git repository."""

__version__ = "0.1.0"
