"""Signals in from outside: the payload, the intake (store, decide, ask or enter), the webhook."""
