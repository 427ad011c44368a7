"""What email, Ghost and WordPress share: title, HTML and the slug derived from the key."""

from __future__ import annotations

from dataclasses import replace

from masthead.channels.publisher import Delivery
from masthead.channels.publishers.markup import body_of, markdown_html, slug_for, title_of
from masthead.channels.publishers.smtp import message_id

DELIVERY = Delivery(key="pc-1:v1:blog:ghost", piece_id="pc-1", version=1, channel="blog", project="p",
                    text="## Café: bank feeds, at last!\n\nTallybook 3.2 <script>x</script> **imports**.",
                    subject=None, at="2026-12-07T10:00:00Z")


def test_the_title_is_the_subject_else_the_first_line_and_is_not_repeated_in_the_body():
    assert title_of(DELIVERY) == "Café: bank feeds, at last!"
    assert body_of(DELIVERY).startswith("Tallybook 3.2")
    with_subject = replace(DELIVERY, subject="Bank feeds")
    assert title_of(with_subject) == "Bank feeds" and body_of(with_subject) == DELIVERY.text


def test_html_is_commonmark_with_raw_html_escaped():
    html = markdown_html(body_of(DELIVERY))
    assert "<strong>imports</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html


def test_the_slug_is_readable_stable_and_differs_per_publication():
    slug = slug_for(DELIVERY)
    assert slug.startswith("cafe-bank-feeds-at-last-") and slug == slug_for(replace(DELIVERY, at="2027-01-01T00:00:00Z"))
    assert slug != slug_for(replace(DELIVERY, key="pc-1:v2:blog:ghost"))
    assert slug_for(replace(DELIVERY, text="✓✓✓")).startswith("post-")


def test_the_message_id_is_the_key_at_the_senders_domain():
    assert message_id("pc-1:v1:newsletter:mail", "Tallybook <news@tallybook.example>") == \
        "<pc-1.v1.newsletter.mail@tallybook.example>"
    assert message_id("a b::c", "no-address") == "<a.b.c@masthead.invalid>"
