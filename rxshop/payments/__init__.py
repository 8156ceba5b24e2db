"""Stripe: its wire types and parsers (the one reader of Stripe's format) and the CheckoutGateway."""
