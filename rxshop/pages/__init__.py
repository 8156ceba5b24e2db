"""One module per page; page-only state lives beside its page."""
