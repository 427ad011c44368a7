"""Model replies that leave pieces failing their checks, as in issue 17's session: the X post
invents a number (grounding fails; auto gate, so it waits for review), and the newsletter gets
a 120-character subject and gibberish with an invented number (subject_length and grounding
fail; hard gate). LinkedIn gets good text and publishes on its soft gate."""

from __future__ import annotations

import json
from typing import Any

from tests.support.harness import channel_of, content_reply

LONG_SUBJECT = ("Tallybook 3.2 is here with everything you ever wanted from bank feeds and dashboards "
                "and much more than that, read now!!")
BAD_TEXT = {
    "x": "Tallybook 3.2 now supports 9000 banks.",
    "newsletter": "Tallybook 3.2 flurb wozzle 9000 gnarp banks zibble.",
}
# What a person types at the desk to make the X post pass (every number is in the release notes).
FIXED_X_TEXT = "Tallybook 3.2 is out: bank feeds for 40 more banks, and a dashboard that loads 35% faster."


def failing_reply(body: dict[str, Any]) -> str:
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    if name == "SubjectLinesOutput":
        return json.dumps({"subjects": [LONG_SUBJECT]})
    if name in ("DraftOutput", "RefineOutput") and channel_of(body) in BAD_TEXT:
        return json.dumps({"text": BAD_TEXT[channel_of(body)]})
    return content_reply(body)
