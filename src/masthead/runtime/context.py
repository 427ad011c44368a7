"""Everything a step needs, loaded from the read models for one claimed task."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from masthead.agents.base import ProjectContext, SignalContext
from masthead.channels.limits import DOCUMENT_CHANNELS, rule_for
from masthead.compose.candidates import VoiceRules
from masthead.compose.items import Extraction, extract_items
from masthead.errors import NotFoundError
from masthead.events.store import EventStore
from masthead.personal_data import PersonWasForgotten, Sealer, open_signal, open_signals, sealer_of
from masthead.projects import Project, project_from_spec
from masthead.recipes.schema import Recipe, Step
from masthead.runtime.digest import TREND_KIND, digest_signal, trend_item_text
from masthead.runtime.documents import DocumentBasis, load_basis
from masthead.runtime.ids import piece_id, task_id
from masthead.runtime.outputs import done_output


@dataclass
class TaskContext:
    task: dict[str, Any]
    job: dict[str, Any]
    recipe: Recipe
    step: Step
    project: Project
    signal: dict[str, Any]
    # A client document's requirements, price table, dates and other clients (proposal channel only).
    document: DocumentBasis | None = None
    # An outreach row's batch: the other rows' contacts (foreign to this one's pieces).
    others: tuple[dict[str, Any], ...] = ()
    # The person the job is about, whose key seals what the job derives from their signal.
    sealer: Sealer | None = None

    @property
    def contact(self) -> dict[str, Any] | None:
        """The outreach contact the job writes to (SignalReceived.contact), else None."""
        raw = self.signal.get("contact")
        return json.loads(raw) if raw else None

    @property
    def personal(self) -> bool:
        """Whether the job is about one person (an outreach row, a signal added with --person):
        its text is theirs, and never becomes memory for drafts to anyone else."""
        return bool(self.signal.get("subject")) or self.contact is not None

    @property
    def channel(self) -> str | None:
        return self.task["channel"]

    @property
    def piece_channel(self) -> str:
        assert self.channel is not None, "only per-channel steps have a piece"
        return self.channel

    @property
    def piece_id(self) -> str:
        assert self.channel is not None, "only per-channel steps have a piece"
        return piece_id(self.job["id"], self.channel)

    @property
    def extraction(self) -> Extraction:
        """The signal's items: parsed deterministically, so every step sees the same ones."""
        return signal_items(self.signal)

    @property
    def voice_rules(self) -> VoiceRules:
        voice = self.project.voice
        return VoiceRules(emoji=voice.emoji, hashtags=tuple(voice.hashtags), sign_off=voice.sign_off, person=voice.person)

    def agent_values(self, store: EventStore) -> dict[str, Any]:
        """The values offered to an agent's input model; each agent takes the ones it declares."""
        values: dict[str, Any] = {
            "project": ProjectContext(
                name=self.project.name,
                description=self.project.description,
                audience=self.project.audience,
                voice=self.project.voice.description,
                exemplars=self.project.voice.exemplars,
                facts=self.project.facts,
            ),
            "signal": SignalContext(kind=self.signal["kind"], title=self.signal["title"], body=self.signal["body"]),
            "channel": self.channel,
            "items": [f"{item.kind}: {item.text}" for item in self.extraction.ranked()[:ITEMS_FOR_AGENTS]],
        }
        contact = self.contact
        if contact is not None:
            values["contact"] = {key: contact[key] for key in ("name", "company", "context")}
        if self.channel is not None:
            values["channel_guide"] = channel_guide(self.channel)
            values["required_disclaimer"] = self.project.policies.required_disclaimers.get(self.channel)
        for need in self.step.needs:
            needed = self.recipe.step(need)
            dep = task_id(self.job["id"], need, self.channel if needed.for_each == "channel" else None)
            output = done_output(store.query, dep)
            if output is not None:
                values[need] = output.get("output")
        return values

    def handoff_inputs(self, store: EventStore) -> dict[str, Any]:
        """The step's inputs as a hand-off to a person records them, in the log. A job about one
        person records none of their text there (it is sealed in the signal): only what is the
        project's, and where the person's text is (`masthead signals show`)."""
        values = self.agent_values(store)
        if self.personal:
            values = {key: value for key, value in values.items() if key in _NOT_PERSONAL}
            values["sealed"] = (f"the signal's text is about one person and sealed: see `masthead signals show"
                                f" {self.signal['id']}`")
        return {key: value.model_dump(mode="json") if hasattr(value, "model_dump") else value
                for key, value in values.items()}


# Inputs of an agent that are the project's, not a person's (handoff_inputs).
_NOT_PERSONAL = frozenset({"project", "channel", "channel_guide", "required_disclaimer"})

ITEMS_FOR_AGENTS = 12  # a small model's context is short; the most salient items come first
_EXTRACTIONS: OrderedDict[tuple[str, str], Extraction] = OrderedDict()
_EXTRACTIONS_LOCK = threading.Lock()


def signal_items(signal: dict[str, Any]) -> Extraction:
    """The items of a signal row, parsed once per process for the most recent 256 signals."""
    digest = signal.get("digest")
    if isinstance(digest, Extraction):
        return digest  # a digest job's items, built from the signals it gathered (runtime/digest.py)
    key = (str(signal["id"]), str(signal["sha256"]))
    with _EXTRACTIONS_LOCK:
        found = _EXTRACTIONS.get(key)
    if found is None:
        found = extract_items(item_text(signal), signal["title"])
        with _EXTRACTIONS_LOCK:
            _EXTRACTIONS[key] = found
            while len(_EXTRACTIONS) > 256:
                _EXTRACTIONS.popitem(last=False)
    return found


def item_text(signal: dict[str, Any]) -> str:
    """The text a signal's items come from: a trend's finding and its evidence in words, not its
    evidence JSON (which stays in the body, where it grounds the numbers)."""
    body = str(signal["body"])
    return trend_item_text(body) if signal["kind"] == TREND_KIND else body


def channel_guide(channel: str) -> str:
    rule = rule_for(channel)
    guide = {
        "x": "An X post: at most 280 characters, links count 23.",
        "bluesky": "A Bluesky post: at most 300 characters.",
        "mastodon": "A Mastodon post: at most 500 characters.",
        "linkedin": "A LinkedIn post: a few short paragraphs, under 3,000 characters.",
        "newsletter": "A newsletter section: a short headline line, then two or three paragraphs.",
        "email": "An email body: a greeting, two short paragraphs and a sign-off.",
        "blog": "A blog post: a title line, then several paragraphs.",
        "proposal": "A proposal section: plain paragraphs that answer the client's request.",
    }.get(channel, f"A {channel} piece.")
    if rule.limit is not None and channel not in ("x", "bluesky", "mastodon", "linkedin"):
        guide += f" At most {rule.limit} characters."
    return guide


class _Plans:
    """Job id -> (recipe, channels), the most recently used `SIZE` jobs; recipes parsed once per
    digest, so a long-running worker keeps one Recipe per recipe, not one per job it ever ran."""

    SIZE = 4096

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, tuple[Recipe, list[str]]] = OrderedDict()
        self._recipes: dict[str, Recipe] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> tuple[Recipe, list[str]] | None:
        with self._lock:
            plan = self._jobs.get(job_id)
            if plan is not None:
                self._jobs.move_to_end(job_id)
            return plan

    def put(self, job_id: str, plan: tuple[Recipe, list[str]]) -> None:
        with self._lock:
            self._jobs[job_id] = plan
            while len(self._jobs) > self.SIZE:
                self._jobs.popitem(last=False)

    def recipe(self, digest: str, spec: dict[str, Any]) -> Recipe:
        with self._lock:
            recipe = self._recipes.get(digest)
        if recipe is None:
            recipe = Recipe.model_validate(spec)
            with self._lock:
                if len(self._recipes) >= self.SIZE:
                    self._recipes.clear()
                self._recipes[digest] = recipe
        return recipe

    def __len__(self) -> int:
        return len(self._jobs)


_PLANS = _Plans()


def job_plan(store: EventStore, job_id: str) -> tuple[Recipe, list[str]]:
    """The recipe and channels a job runs with, as they were when it started (from JobStarted)."""
    plan = _PLANS.get(job_id)
    if plan is None:
        started = store.query(
            "SELECT data FROM events WHERE stream = ? AND type = 'JobStarted'", (f"job-{job_id}",)
        )
        if not started:
            raise NotFoundError(f"job {job_id} has no JobStarted event")
        data = json.loads(started[0]["data"])
        spec = data.get("recipe_spec")  # logs written before recipes were stored once
        if spec is not None:
            recipe = Recipe.model_validate(spec)
        else:
            digest = data["recipe_digest"]
            rows = store.query("SELECT spec FROM recipes WHERE digest = ?", (digest,))
            if not rows:
                raise NotFoundError(f"job {job_id}: recipe {digest[:12]} is not in the log")
            recipe = _PLANS.recipe(digest, json.loads(rows[0]["spec"]))
        plan = (recipe, list(data["channels"]))
        _PLANS.put(job_id, plan)
    return plan


def current_project(store: EventStore, name: str) -> Project:
    """The project as it is now."""
    return project_from_spec(store.query("SELECT spec FROM projects WHERE name = ?", (name,))[0]["spec"])


# The job's row and its project's spec as it is now, in one statement (the spec under a name no
# column of jobs has; popped before the row is used).
_JOB_AND_SPEC = ("SELECT j.*, p.spec AS project_spec_now FROM jobs j LEFT JOIN projects p ON p.name = j.project"
                 " WHERE j.id = ?")


class _SignalRows:
    """Signal rows as stored, the most recently used `SIZE`: a row never changes once written
    (sealed text stays sealed; forgetting a person deletes their key, which `open_signal`
    looks up every time), and every step of a job reads the same one. Keyed by the store's
    location too, so two workspaces in one process never share an entry."""

    SIZE = 4096

    def __init__(self) -> None:
        self._rows: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: EventStore, signal_id: str) -> dict[str, Any]:
        key = (store.location, signal_id)
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
        if row is None:
            row = store.query("SELECT * FROM signals WHERE id = ?", (signal_id,))[0]
            with self._lock:
                self._rows[key] = row
                while len(self._rows) > self.SIZE:
                    self._rows.popitem(last=False)
        return dict(row)  # a copy: the step may add to its signal (a digest's items)


_SIGNALS = _SignalRows()


def load_context(store: EventStore, task: dict[str, Any]) -> TaskContext:
    jobs = store.query(_JOB_AND_SPEC, (task["job_id"],))
    if not jobs:
        raise NotFoundError(f"job {task['job_id']} of task {task['id']} does not exist")
    job = jobs[0]
    spec = job.pop("project_spec_now")
    recipe, _channels = job_plan(store, job["id"])
    project = project_from_spec(spec) if spec is not None else current_project(store, job["project"])
    signal = open_signal(store, _SIGNALS.get(store, job["signal_id"]))
    if signal.get("forgotten"):
        raise PersonWasForgotten(f"job {job['id']}: the person was forgotten (signal {signal['id']}); "
                                 "it can neither draft nor send", fix="nothing to do: the job stays failed")
    sealer = sealer_of(store, signal.get("subject"))
    if recipe.trigger.gather is not None:
        signal = digest_signal(store, signal, recipe.trigger.gather, recipe.trigger.signal_kinds)
    if task["kind"] == "refine":
        # On-demand refinement is not a recipe step: it refines with the final tier.
        step = Step(id=task["step"], agent="refine", tier="final", for_each="channel")
    else:
        step = recipe.step(task["step"])
    document = None
    if task["channel"] in DOCUMENT_CHANNELS and project.kind == "client":
        document = load_basis(store, project, recipe, job, signal, task["channel"])
    others: tuple[dict[str, Any], ...] = ()
    if signal.get("batch_id"):
        # A forgotten row of the batch reads "[forgotten]": nothing of it is left to leak.
        others = tuple(json.loads(row["contact"]) for row in open_signals(store, store.query(
            "SELECT contact, subject, sealed FROM signals WHERE batch_id = ? AND id <> ? ORDER BY seq",
            (signal["batch_id"], signal["id"]))))
    return TaskContext(task=task, job=job, recipe=recipe, step=step, project=project, signal=signal, document=document,
                       others=others, sealer=sealer)
