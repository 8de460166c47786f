"""``python -m bot``: start the Telegram bot (settings from the environment or ``.env``)."""

from bot.app import main

if __name__ == "__main__":
    main()
