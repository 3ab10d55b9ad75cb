"""The agents' web inbox: one page, its script and its styles, all served from this package.

The page talks to the API under /api/v1 with the session cookie and the CSRF token the API
hands out at sign-in. Nothing is loaded from elsewhere (design.md, Operations): the policy
below forbids it, and keeps scripts out of the customers' HTML, which the page shows in a
sandboxed frame (the policy is inherited by that frame).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web/static",
)

# style-src allows inline styles because HTML emails are styled inline; remote images
# (tracking pixels) and every other remote fetch are refused.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


@blp.get("/")
def inbox_page() -> str:
    """The web inbox (it signs in, lists and shows conversations by itself)."""
    return render_template("inbox.html")


@blp.after_request
def protect(response: Response) -> Response:
    """Send the page's security policy with the page and its files."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Links in customers' emails must not tell the linked site where the inbox lives.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
