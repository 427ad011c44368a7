"""Which function runs each kind of step (the worker's table)."""

from __future__ import annotations

from collections.abc import Callable

from masthead.channels.limits import service_limits
from masthead.runtime.ab_step import run_ab_step
from masthead.runtime.context import TaskContext
from masthead.runtime.publish_step import run_publish_step
from masthead.runtime.service_limits import reported_limits
from masthead.runtime.steps import (
    StepOutcome,
    StepServices,
    channel_settings,
    run_agent_step,
    run_check_step,
    run_gate_step,
    run_refine_step,
)

Handler = Callable[[TaskContext, StepServices], StepOutcome]


def with_service_limits(handler: Handler) -> Handler:
    """The step composes and checks against the post size its channel's services report."""
    def run(ctx: TaskContext, services: StepServices) -> StepOutcome:
        publish_to = channel_settings(ctx).publish_to if ctx.channel is not None else []
        with service_limits(reported_limits(ctx.channel, publish_to, services.publishers)):
            return handler(ctx, services)
    return run


HANDLERS: dict[str, Handler] = {
    "refine": with_service_limits(run_refine_step),
    "ab_test": run_ab_step,
    "agent": with_service_limits(run_agent_step),
    "check": with_service_limits(run_check_step),
    "gate": run_gate_step,
    "publish": run_publish_step,
}
