"""Transactional email: the outbox written with each change, its sender, templates, and the dev mailbox."""
