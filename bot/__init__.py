"""Telegram bot front end for the eye classifier: ``python -m bot`` (see ``bot.app`` for the flow)."""
