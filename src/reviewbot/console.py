"""The local console: the same bot and database, driven from a terminal or a pipe.

Each line is a command as it would be typed in Slack: ``/review start ...``, ``/note ...``;
``@name /note ...`` acts as that user; ``#`` lines are comments. Replies are printed as the bot
would post them, and the minutes are printed in full when a meeting ends.
"""

from __future__ import annotations

import getpass
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import TextIO

from reviewbot.core import Caller, UserError
from reviewbot.core.commands import CommandHandler
from reviewbot.core.followups import publish_report
from reviewbot.core.publishing import Publisher
from reviewbot.core.replies import Mark, Reply
from reviewbot.store.database import DatabaseUnavailable

WORKSPACE = "console"
CHANNEL = "console"

BANNER = """reviewbot local console: no Slack credentials are set, so commands are read here.
Type Slack commands (`/review help` lists them); start a line with @name to act as that user.
To connect to Slack set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode) or
SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode), in the environment or in .env."""


class ConsolePoster:
    """The core's :class:`~reviewbot.core.Poster` for the console: notices are printed."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()

    def post(self, workspace_id: str, channel_id: str, text: str, marks: Sequence[Mark] = ()) -> None:
        """Print *text* as the bot would post it in the channel (moments and links as written)."""
        with self._lock:
            for i, row in enumerate(text.splitlines()):
                self.out.write(("  [notice] " if i == 0 else "           ") + row + "\n")
            self.out.flush()


class Console:
    """Reads command lines, runs them through the command handler and prints the replies."""

    def __init__(
        self,
        handler: CommandHandler,
        out: TextIO | None = None,
        user: str | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.handler = handler
        self.publisher = publisher
        self.out = out or sys.stdout
        self.default_user = user or _login_name()
        self._messages = 0  # lines typed as messages, each its own message key

    def run(self, lines: Iterable[str], echo: bool = False) -> int:
        """Run every line; returns how many commands were answered with a mistake."""
        mistakes = 0
        for line in lines:
            reply = self.run_line(line, echo=echo)
            if reply is not None and not reply.public and reply.text.startswith(("I don't", "⚠️")):
                mistakes += 1
        return mistakes

    def run_line(self, line: str, echo: bool = False) -> Reply | None:
        """Run one line and print what the bot answers."""
        line = line.strip()
        if not line or line.startswith("#"):
            return None
        user = self.default_user
        if line.startswith("@"):
            name, _, line = line.partition(" ")
            user = name[1:] or user
            line = line.strip()
        if echo:
            self._print(f"@{user} {line}")
        caller = Caller(workspace_id=WORKSPACE, channel_id=CHANNEL, user_id=user, user_name=user)
        if not line.startswith("/") or line.startswith("//"):  # "// ..." is an aside in a message
            self._message(caller, line)
            return None
        command, _, text = line.partition(" ")
        # Console users are their names, so ``@name`` mentions them.
        mentions = {name: name for name in re.findall(r"@([\w.-]+)", text)}
        reply = self.handler.handle(command, text, caller, mentions)
        self.show(reply)
        if reply.publish_meeting_id is not None and self.publisher is not None:
            self.show(publish_report(self.publisher, reply.publish_meeting_id, user))
        return reply

    def _message(self, caller: Caller, text: str) -> None:
        """A line that is not a command is a message in the channel: a scribe's are notes."""
        self._messages += 1
        try:
            outcome = self.handler.meetings.record_message(caller, f"console:{self._messages}", text)
        except UserError as error:
            self._print(f"  (only you) ⚠️ That message is not in the minutes: {error}")
            return
        except DatabaseUnavailable:
            self._print("  (only you) ⚠️ The database is not answering; that message was not recorded.")
            return
        if outcome.recorded:
            count = len(outcome.notes)
            self._print(f"  ✅ ({count} note{'' if count == 1 else 's'} in the minutes)")
        elif text.startswith("//"):
            self._print("  (an aside: not in the minutes)")
        else:
            self._print(
                "  (type a command starting with /, e.g. /review help or /note <text>;"
                " after /review scribe me, your lines are notes)"
            )

    def show(self, reply: Reply) -> None:
        """Print a reply: channel messages plainly, private ones marked as only visible to you."""
        prefix = "  " if reply.public else "  (only you) "
        for i, row in enumerate(reply.text.splitlines()):
            self._print((prefix if i == 0 else " " * len(prefix)) + row)
        if reply.minutes is not None:
            minutes = reply.minutes.render()
            self._print(f"----- {minutes.filename} -----")
            self.out.write(minutes.content)
            self._print(f"----- end of {minutes.filename} -----")

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def interactive_lines(prompt: str = "reviewbot> ") -> Iterable[str]:
    """Lines typed at a prompt, until end of input."""
    while True:
        try:
            yield input(prompt)
        except EOFError:
            print()
            return
        except KeyboardInterrupt:
            print()
            return


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "you"
