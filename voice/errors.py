"""The one kind of error whose message is already the line a user should see: a bad file, a missing device, bad
content, a mistyped command. Its own small module, so the command line can catch it without importing the heavy
modules that raise it (see voice/cli.py main)."""


class OneLineError(Exception):
    """Its message is the one line the user sees; no traceback."""
