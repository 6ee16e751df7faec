"""Alerts where the trader looks: rules that watch the session, the center that shows, stores
and sends them, and the Telegram Bot API delivery."""
