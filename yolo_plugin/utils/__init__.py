"""Small shared helpers: checkpoint files, module registration."""
