"""Hypothesis throws random headers and bodies at the webhook route (some of them correctly
signed, so the parsing behind the signature is reached too): every answer is one the route
chose, never a 5xx."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.web.conftest import HOOK_SECRET

from masthead.app.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    legacy_signature,
    signature,
)
from masthead.app.workspace import Workspace
from masthead.web import create_app

# Header values travel as bytes; the server reads them as latin-1, so any byte but CR/LF may arrive.
header_bytes = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b and b"\x00" not in b)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode("utf-8")),  # NaN and Infinity included
    st.builds(lambda title: json.dumps({"title": title}).encode("utf-8"), st.text(max_size=300)),
)
timestamps = st.one_of(
    st.just(None),  # the right time
    header_bytes,
    st.integers(-10**15, 10**15).map(lambda n: str(n).encode()),
    st.text("0123456789\u00b2\u00b3\u00b9\u0661\uff11", min_size=1, max_size=14).map(lambda t: t.encode("utf-8")),
)
content_types = st.sampled_from([b"application/json", b"application/json; charset=utf-8", b"text/plain",
                                 b"application/x-www-form-urlencoded", b"application/vnd.x+json", b"", b"\xff\xfe"])


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, dict[str, bytes]]:
    body = draw(bodies)
    stamp = draw(timestamps)
    stamp_text = str(int(time.time())) if stamp is None else stamp.decode("latin-1")
    delivery = draw(st.one_of(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,30}", fullmatch=True), header_bytes.map(
        lambda b: b.decode("latin-1"))))
    scheme = draw(st.sampled_from(["v2", "legacy", "random"]))
    if scheme == "random" or not stamp_text.isascii() or not delivery.isascii():
        signed = draw(header_bytes)
    elif scheme == "v2":
        signed = signature(HOOK_SECRET.encode(), stamp_text, delivery, body).encode()
    else:
        signed = legacy_signature(HOOK_SECRET.encode(), stamp_text, body).encode()
    headers = {TIMESTAMP_HEADER: stamp_text.encode("latin-1", "replace"), DELIVERY_HEADER: delivery.encode("latin-1"),
               SIGNATURE_HEADER: signed, "Content-Type": draw(content_types)}
    for name in draw(st.sets(st.sampled_from([TIMESTAMP_HEADER, DELIVERY_HEADER, SIGNATURE_HEADER, "Content-Type"]))):
        del headers[name]
    source = draw(st.sampled_from(["github", "gitlab", "GitHub", "git%00hub"]))
    return source, body, headers


def test_no_delivery_makes_a_server_error(ws: Workspace) -> None:
    http = TestClient(create_app(ws, with_workers=False), raise_server_exceptions=False)

    @given(case=deliveries())
    @settings(max_examples=400, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: tuple[str, bytes, dict[str, bytes]]) -> None:
        source, body, headers = case
        answer = http.post(f"/hooks/{source}", content=body, headers=headers)
        assert answer.status_code < 500, (answer.status_code, answer.text, headers)
        assert answer.status_code in (200, 202, 400, 401, 404, 409, 413, 415), answer.text

    fuzz()
