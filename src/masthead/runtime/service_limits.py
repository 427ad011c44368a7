"""What the services a step publishes to say about a post's size.

A Mastodon instance reports its own `max_characters`; composition, checks and refinement all
measure against the limit the service will apply (channels/limits.py `service_limits`, set for
one step by runtime/steps.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from masthead.channels.limits import rule_for
from masthead.channels.publisher import Publisher
from masthead.errors import MastheadError


def reported_limits(channel: str | None, publish_to: Sequence[str],
                    publishers: Mapping[str, Publisher]) -> dict[str, int]:
    """The post size the channel's publishers report, if any does. A service of the channel's
    own kind sets the limit (an instance may allow 5,000 characters); one of another kind (a
    Mastodon account fed by the X channel) can only lower it. A service that cannot be asked now
    leaves the default in place; its publication will say why."""
    if channel is None:
        return {}
    default = rule_for(channel).limit  # asked outside any `service_limits` block: the channel's own
    limits = []
    for name in publish_to:
        publisher = publishers.get(name)
        if publisher is None:
            continue
        try:
            size = publisher.limits().max_characters
        except (MastheadError, OSError):
            continue
        if size:
            limits.append(size if publisher.kind == channel or default is None else min(size, default))
    return {channel: min(limits)} if limits else {}
