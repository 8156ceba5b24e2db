"""Plain Starlette routes beside Reflex's own: the Stripe webhook and the visitor credential."""
