"""The Jinja2 environment of the reminder e-mails (templates/reminders/), rendered thousands of times a run.

Jinja2 compiles a template to Python, several times faster than Django's engine for these loops. Every
translated string is worked out in Python (`tracker/reminders/compose.py`), so `makemessages` finds them
all and the templates hold layout only. HTML is escaped, plain text is not; an unknown variable is an error.
"""

from jinja2 import Environment, StrictUndefined, select_autoescape


def environment(**options):
    options.update(autoescape=select_autoescape(["html"]), undefined=StrictUndefined, keep_trailing_newline=True)
    return Environment(**options)
