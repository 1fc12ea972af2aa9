"""The chat use cases, in one place. Each takes keyword-only arguments and an explicit session, checks
what the actor may do (``quanta.chat.access``) and raises a typed error from ``quanta.chat.errors``;
the caller owns the unit of work and commits. Writes return the ``ChatEvent`` to publish.

Time-dependent services take ``now`` (aware UTC; defaults to the current time); posting and editing take
``limiter`` (defaults to ``quanta.ratelimit.limiter_for()``).
"""

from __future__ import annotations

from quanta.chat._cascade import purge_orphaned_rooms
from quanta.chat._markdown import render_markdown
from quanta.chat._messages import (
    EDIT_WINDOW,
    POST_BURST,
    POST_SUSTAINED,
    changes_after,
    delete_message,
    edit_message,
    message_at,
    message_views,
    messages_after,
    messages_before,
    post_message,
)
from quanta.chat._moderation import (
    ban_user,
    lift_restriction,
    list_reports,
    list_restrictions,
    mute_user,
    report_message,
    resolve_report,
)
from quanta.chat._notifications import (
    list_notifications,
    mark_notifications_read,
    unread_notification_count,
)
from quanta.chat._rooms import (
    competition_room,
    direct_room,
    direct_rooms,
    lobby,
    my_rooms,
    room_view,
    strategy_room,
)
from quanta.chat.access import access_for, room_by_public_id

__all__ = [
    "EDIT_WINDOW",
    "POST_BURST",
    "POST_SUSTAINED",
    "access_for",
    "ban_user",
    "changes_after",
    "competition_room",
    "delete_message",
    "direct_room",
    "direct_rooms",
    "edit_message",
    "lift_restriction",
    "list_notifications",
    "list_reports",
    "list_restrictions",
    "lobby",
    "mark_notifications_read",
    "message_at",
    "message_views",
    "messages_after",
    "messages_before",
    "mute_user",
    "my_rooms",
    "post_message",
    "purge_orphaned_rooms",
    "render_markdown",
    "report_message",
    "resolve_report",
    "room_by_public_id",
    "room_view",
    "strategy_room",
    "unread_notification_count",
]
