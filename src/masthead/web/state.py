"""What the web app shares between requests, kept on `app.state.desk`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from masthead.app.auth import TokenFile
from masthead.app.poller import SourcePoller
from masthead.app.webhooks import WebhookInbox
from masthead.app.workspace import Workspace
from masthead.runtime.runner import Runner
from masthead.web.sse import Broadcaster
from masthead.web.throttle import FailureThrottle

WEB_DIR = Path(__file__).parent


@dataclass
class DeskState:
    workspace: Workspace
    templates: Jinja2Templates
    token_file: TokenFile
    broadcaster: Broadcaster
    inbox: WebhookInbox
    poll_seconds: float
    runner: Runner | None = None
    runner_thread: threading.Thread | None = None
    poller: SourcePoller | None = None
    escalation_stop: threading.Event | None = None
    throttle: FailureThrottle = field(default_factory=FailureThrottle)


def desk(request: Request) -> DeskState:
    state: DeskState = request.app.state.desk
    return state
