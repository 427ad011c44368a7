"""The log: pages of events by seq, and the live stream (SSE)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from masthead.app.listings import events_page
from masthead.web.api.schemas import MAX_OFFSET
from masthead.web.auth import ApiOperator
from masthead.web.sse import event_stream, resume_point
from masthead.web.state import desk

router = APIRouter(tags=["events"])


@router.get("/events", summary="Events with seq > since, oldest first; continue with next_since")
def get_events(request: Request, _op: ApiOperator, since: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100, stream: str | None = None) -> dict[str, Any]:
    return events_page(desk(request).workspace, since=since, limit=limit, stream=stream)


@router.get(
    "/stream",
    summary="Live stream (Server-Sent Events): every new event, and model tokens as they are written",
    description=(
        "`event: log` messages carry one event each, with `id: <seq>`; reconnecting with `Last-Event-ID`"
        " (or `?since=`) resumes after that seq with no gap and no duplicate. `event: token` messages"
        " (task_id, piece_id, channel, step, n, text) carry model output while it is written; they are"
        " not in the log and are not replayed. Without Last-Event-ID or since, the stream starts at"
        " the log's head. `follow=false` sends what is in the log and ends."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream(request: Request, _op: ApiOperator, since: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
           follow: bool = True,
           last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None) -> StreamingResponse:
    state = desk(request)
    head, _ = state.workspace.store.head()
    start = resume_point(last_event_id, since, head)
    body = event_stream(state.workspace.store, state.broadcaster, start, follow=follow,
                        poll_seconds=state.poll_seconds)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
