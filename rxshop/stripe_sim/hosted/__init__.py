"""The hosted checkout page: plain server-rendered HTML, no JavaScript.

routes.py (what each button does), render.py (the page per session state), form.py (the open session's
forms), summary.py (the order summary), html.py (style, accessible fields, the document).
"""

from rxshop.stripe_sim.hosted.render import success_redirect
from rxshop.stripe_sim.hosted.routes import routes

__all__ = ["routes", "success_redirect"]
