"""rxshop: a Reflex shop that takes card payments through Stripe Checkout."""
