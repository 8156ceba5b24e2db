"""The shop's rules as pure code (catalog, cart, shipping, lifecycle, identity): no I/O, no Reflex."""
