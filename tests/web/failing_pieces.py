"""Model replies and a signal that leave pieces failing their checks, as in issue 17's session.

Since drafting composes candidates from the signal's items beside the model's draft, a bad model
reply alone no longer fails a piece: the composed candidates win. So the signal fails them too:
release notes pasted from a web page, with the marketing phrase the project bans
("game changer"), a zero-width space and a link outside the project's domains. Every composed
candidate quotes them (banned_phrases, injection, and provenance where the link is quoted), and
the model's draft fails worse, so each piece goes to its check step failing, and the refinement
is adopted because it fails fewer checks, though not none:

- the X post: the refinement invents a number (grounding fails; auto gate, so it waits for
  review as v2);
- the newsletter: the model's draft is gibberish with an invented number under a 120-character
  subject; the refinement reads well but keeps both (v2 fails subject_length and grounding;
  hard gate);
- LinkedIn gets good text and publishes on its soft gate.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.harness import channel_of, content_reply

FAILING_NOTES = (
    "# Tallybook 3.2\n"
    "- A game changer: bank feeds for 40 more\u200b banks.\n"
    "- Another game changer: the dashboard loads 35% faster.\n"
    "\n"
    "[Full release notes](https://tallybook.example/releases/3.2)\n"
)
LONG_SUBJECT = ("Tallybook 3.2 is here with everything you ever wanted from bank feeds and dashboards "
                "and much more than that, read now!!")
BAD_TEXT = {
    "x": "Tallybook 3.2 now supports 9000 banks.",
    "newsletter": "Tallybook 3.2 flurb wozzle 9000 gnarp banks zibble.",
}
# What the refining model answers: better, but the invented number stays (and the long subject).
REFINED_TEXT = {
    "x": "Tallybook 3.2 is out: bank feeds for 9000 banks, and a dashboard that loads 35% faster.",
    "newsletter": ("Tallybook 3.2 brings bank feeds for 9000 banks, and the dashboard loads 35% faster.\n\n"
                   "Your statements arrive by themselves, so there is less to type at the end of the month, "
                   "and the numbers you check every morning are there as soon as you open Tallybook."),
}
GOOD_LINKEDIN = ("Tallybook 3.2 adds bank feeds for 40 more banks, and the dashboard loads 35% faster. "
                 "Freelancers spend less time typing in statements and more time on the work they bill for.\n\n"
                 "Posted by the Tallybook team.")
# What a person types at the desk to make the X post pass (every number is in the release notes).
FIXED_X_TEXT = "Tallybook 3.2 is out: bank feeds for 40 more banks, and a dashboard that loads 35% faster."


def failing_reply(body: dict[str, Any]) -> str:
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    channel = channel_of(body)
    if name == "SubjectLinesOutput":
        return json.dumps({"subjects": [LONG_SUBJECT]})
    if name == "DraftOutput" and channel in BAD_TEXT:
        return json.dumps({"text": BAD_TEXT[channel]})
    if name == "RefineOutput" and channel in REFINED_TEXT:
        return json.dumps({"text": REFINED_TEXT[channel], "subject": LONG_SUBJECT if channel == "newsletter" else None})
    if name in ("DraftOutput", "RefineOutput") and channel == "linkedin":
        return json.dumps({"text": GOOD_LINKEDIN})
    return content_reply(body)
