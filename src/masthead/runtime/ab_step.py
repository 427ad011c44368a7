"""The `ab_test` step: an A/B test of a piece's subject lines, and its winner as the subject.

First run: the subject-line variants (the subjects step's lines, the piece's own subject first)
start a test (`AbTestStarted`, the same event `masthead ab start` appends) and the step waits.
Results arrive through `masthead ab record` or `POST /hooks/ab`; the report that decides the
winner wakes this step, which then revises the piece to carry the winning subject (a new
version, checked again, so the gate judges and a person approves exactly what goes out). With
fewer than two distinct subject lines there is nothing to test and the step passes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from masthead.channels.limits import SUBJECT_LIMIT, grapheme_length
from masthead.errors import StateError
from masthead.events.ab_types import AbTestStarted, AbVariant
from masthead.events.model import NewEvent, stream_of
from masthead.events.types import PieceRevised
from masthead.personal_data import Sealer, open_pieces, sealed_if, sealed_subject
from masthead.runtime.ids import new_id
from masthead.runtime.outputs import step_output

if TYPE_CHECKING:  # steps imports this module; the names are used in annotations only
    from masthead.runtime.context import TaskContext
    from masthead.runtime.steps import StepOutcome, StepServices

MAX_VARIANTS = 5


@dataclass(frozen=True)
class AbSettings:
    metric: str = "opens"
    method: str = "thompson"
    list_size: int = 10_000
    batch_size: int = 500
    test_share: float = 0.2
    deadline: str | None = None


def test_started(test_id: str, project: str, piece_id: str, texts: list[str], settings: AbSettings,
                 sealer: Sealer | None = None) -> AbTestStarted:
    """The event that starts a test over `texts` (2 to MAX_VARIANTS distinct lines, A, B, C...);
    a piece about one person has its lines sealed with their key (`sealer`)."""
    return AbTestStarted(
        id=test_id, project=project, piece_id=piece_id, field="subject", metric=settings.metric,
        method=settings.method,
        variants=[AbVariant(id=chr(ord("A") + i), text=sealed_if(sealer, t)) for i, t in enumerate(texts)],
        list_size=settings.list_size, batch_size=settings.batch_size, test_share=settings.test_share,
        deadline=settings.deadline,
    )


def subject_options(piece_subject: str | None, subjects: dict[str, Any] | None) -> list[str]:
    """The distinct subject lines worth testing: the piece's own first, then the subject-line
    agent's, each within the subject limit."""
    lines = [piece_subject or "", *((subjects or {}).get("subjects") or [])]
    kept = [" ".join(str(line).split()) for line in lines]
    kept = [line for line in kept if line and grapheme_length(line) <= SUBJECT_LIMIT]
    return list(dict.fromkeys(kept))[:MAX_VARIANTS]


def run_ab_step(ctx: TaskContext, services: StepServices) -> StepOutcome:
    from masthead.runtime.confidence import checks_recorded
    from masthead.runtime.steps import StepOutcome, check_piece, piece_row

    store = services.store
    piece = piece_row(store, ctx.piece_id)
    if piece is None:
        raise StateError(f"piece {ctx.piece_id} for {ctx.channel} was never drafted")
    if piece["status"] == "rejected":
        return StepOutcome(output={"ab_test": None, "reason": "rejected"}, halt=True)
    tests = store.query("SELECT * FROM ab_tests WHERE piece_id = ? ORDER BY started_at DESC", (ctx.piece_id,))
    if not tests:
        options = subject_options(piece["subject"], _subject_lines(store, ctx))
        if len(options) < 2:
            return StepOutcome(output={"ab_test": None, "reason": f"{len(options)} subject line(s): nothing to test"})
        test_id = new_id("ab")
        started = test_started(test_id, ctx.project.name, ctx.piece_id, options, AbSettings(), ctx.sealer)
        return StepOutcome(output={"ab_test": test_id}, wait_reason=_waiting(test_id),
                           events=[("system", started.to_new(stream_of("abtest", test_id), 0))])
    test = tests[0]
    if test["status"] == "running":
        return StepOutcome(output={"ab_test": test["id"]}, wait_reason=_waiting(test["id"]))
    winner = open_pieces(store.query, store.query("SELECT text FROM ab_variants WHERE test_id = ? AND variant = ?",
                                                  (test["id"], test["winner"])))
    subject = str(winner[0]["text"]) if winner else piece["subject"]
    output = {"ab_test": test["id"], "winner": test["winner"], "subject": subject, "reason": test["reason"]}
    if subject == piece["subject"]:
        return StepOutcome(output=output | {"version": piece["version"]})
    version = piece["version"] + 1
    revised = PieceRevised(id=ctx.piece_id, version=version, text=sealed_if(ctx.sealer, piece["text"]),
                           subject=sealed_subject(ctx.sealer, subject), kind="ab_winner",
                           author="system", tier=None, prompt_version=None, task_id=ctx.task["id"])
    results = check_piece(ctx, piece["text"], subject, services.memory)
    events: list[tuple[str, NewEvent]] = [
        ("system", revised.to_new(stream_of("piece", ctx.piece_id))),
        ("system", checks_recorded(ctx, version, results, store, services.memory, piece["text"])),
    ]
    return StepOutcome(output=output | {"version": version}, events=events)


def _subject_lines(store: Any, ctx: TaskContext) -> dict[str, Any] | None:
    """The output of the channel's subject-lines step, whatever the recipe calls it."""
    rows = store.query("SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq"
                       " WHERE t.job_id = ? AND t.channel = ? AND t.kind = 'agent' AND t.status = 'done'",
                       (ctx.job["id"], ctx.channel))
    for row in rows:
        output = step_output(store.query, row["data"])
        if output.get("agent") == "subject_lines":
            return dict(output.get("output") or {})
    return None


def _waiting(test_id: str) -> str:
    return (f"waiting for A/B test {test_id} to pick a winner: record results with "
            f"`masthead ab record {test_id} --file results.csv` or POST /hooks/ab")


