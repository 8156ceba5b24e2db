"""The owner's dashboard, below the UI: sign-in (`auth`), the order table and detail (`queries`), what the
owner changes (`actions`) and the figures (`reports`). No reflex here; every function checks the sign-in."""
