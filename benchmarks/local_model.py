"""Tokens per second of the bundled local model (SmolLM2-135M-Instruct, llama.cpp) through
Masthead's provider and recording client, against llama-cpp-python called directly with the
same prompt and parameters, in the same process, interleaved. Target: Masthead ≥ 95%.

    .venv/bin/python benchmarks/local_model.py [--reps 5] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

from masthead.app.workspace import init_workspace  # noqa: E402
from masthead.config import BudgetLimits  # noqa: E402
from masthead.providers.base import Message, ModelRequest  # noqa: E402
from masthead.providers.local import _load_llama, bundled_model_path  # noqa: E402
from masthead.runtime.model_client import CallScope, RecordingModelClient  # noqa: E402

PROMPT = [
    Message(role="system", content="You write short, friendly release announcements."),
    Message(role="user", content="Write a paragraph announcing Tallybook 3.2: bank feeds for 40 more banks, "
                                 "invoice reminders and a dashboard that loads 35% faster."),
]


def through_masthead(ws, n: int, max_tokens: int) -> float:  # type: ignore[no-untyped-def]
    """One recorded call on the runtime's path (breaker, budget, rate limit, recording)."""
    client = RecordingModelClient(
        store=ws.store, config=ws.config, providers=ws.providers, guards=ws.guards, tier="draft",
        call=CallScope(task_id=f"bench.{n}", job_id="bench", project="bench", budget=BudgetLimits(),
                       criticality="normal", scope=f"bench-{n}", actor="agent:bench"),
    )
    request = ModelRequest(model="smollm2-135m-instruct", messages=tuple(PROMPT), max_tokens=max_tokens,
                           temperature=0.7, seed=n)
    client.complete(request)
    row = ws.store.query("SELECT tokens_out, latency_ms FROM model_calls WHERE task_id = ?", (f"bench.{n}",))[0]
    return row["tokens_out"] / (row["latency_ms"] / 1000)


def direct(llama, n: int, max_tokens: int) -> float:  # type: ignore[no-untyped-def]
    llama.reset()  # as the provider does, so both start from an empty context
    started = time.perf_counter()
    tokens = 0
    for event in llama.create_chat_completion(
        messages=[m.model_dump() for m in PROMPT], max_tokens=max_tokens, temperature=0.7, seed=n, stream=True,
    ):
        if event["choices"][0]["delta"].get("content"):
            tokens += 1
    elapsed = time.perf_counter() - started
    return tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws, _ = init_workspace(Path(folder))
        llama = _load_llama(bundled_model_path(), 2048, None)  # same file, same settings, own instance
        through_masthead(ws, -1, 16)  # warm both: load the model, compile the grammar-free path
        direct(llama, -1, 16)
        ours, theirs = [], []
        for n in range(args.reps):
            ours.append(through_masthead(ws, n, args.max_tokens))
            theirs.append(direct(llama, n, args.max_tokens))
        ws.close()
    ratio = statistics.median(ours) / statistics.median(theirs)
    body = f"""\
{args.reps} interleaved generations of up to {args.max_tokens} tokens each way, same prompt, temperature 0.7.

| path | tokens/s median (min–max) |
| --- | --- |
| Masthead (provider + recording client) | {statistics.median(ours):.1f} ({min(ours):.1f}–{max(ours):.1f}) |
| llama-cpp-python directly | {statistics.median(theirs):.1f} ({min(theirs):.1f}–{max(theirs):.1f}) |

- Masthead / direct: {ratio:.1%} (target ≥ 95%). Masthead's figure is output tokens over the call's
  recorded latency (prompt processing included, as in the direct figure).
- The direct path counts streamed content chunks (one per token for this model).
"""
    print(body)
    write_section("local_model", f"python benchmarks/local_model.py --reps {args.reps} --max-tokens {args.max_tokens}", body)


if __name__ == "__main__":
    main()
