"""The platform-independent core: agenda, meetings, notes, minutes. It knows nothing of Slack.

Adapters (the Slack listeners, the local console) turn what people type into calls of
:class:`reviewbot.core.commands.CommandHandler`, which answers with a :class:`Reply`.
"""

from reviewbot.core.context import Caller, Clock, Poster, PostError, SystemClock, UserError
from reviewbot.core.replies import Reply

__all__ = ["Caller", "Clock", "PostError", "Poster", "Reply", "SystemClock", "UserError"]
