"""Reminders of progress reports and of the review's commitments: what is due (`policy`), what each e-mail
says (`compose`), how it is sent exactly once (`sending`), and how the web process hands work to Celery
without ever waiting on the broker (`enqueue`).

Exactly-once comes from the database, not from Celery: `policy.plan()` writes one `Reminder` row per
recipient (a user, or an address for those without an account), scope, kind and stage (unique key, inserted
with ON CONFLICT DO NOTHING), and `sending.send_due()` claims rows with SELECT ... FOR UPDATE SKIP LOCKED,
re-checks that each is still due, sends one e-mail per recipient and marks each row sent as soon as its
e-mail is accepted.
"""
