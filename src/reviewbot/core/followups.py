"""Work an adapter does after acknowledging a command: publishing minutes to the wiki."""

from __future__ import annotations

import logging

from reviewbot.core.context import UserError
from reviewbot.core.publishing import Publisher, WikiError
from reviewbot.core.replies import Reply, Visibility
from reviewbot.store.database import DatabaseUnavailable

log = logging.getLogger(__name__)


def publish_report(publisher: Publisher, meeting_id: int, user_id: str | None) -> Reply:
    """Publish a meeting's minutes and say what happened, in one message for the channel; never raises."""
    try:
        outcome = publisher.publish(meeting_id, user_id)
        return Reply(outcome.text, Visibility.CHANNEL, meeting_id=meeting_id, marks=(outcome.link,))
    except WikiError as error:
        log.warning("publishing meeting %s failed: %s", meeting_id, error)
        text = (
            f"⚠️ Could not publish meeting #{meeting_id} to the wiki: {error}. "
            f"The draft is kept; `/review publish {meeting_id}` tries again."
        )
    except UserError as error:
        text = str(error)
    except DatabaseUnavailable:
        text = f"⚠️ The database is not answering, so meeting #{meeting_id} was not published; try again soon."
    return Reply(text, Visibility.CHANNEL, meeting_id=meeting_id)
