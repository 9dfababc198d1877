"""gen_frame: the opening of a gen: answer made of the request's own words, and the cut to the
form asked for (pure)."""

from __future__ import annotations

import pytest

from assistant.commands.checks import addressee, constraints, unmet
from assistant.commands.gen_frame import extended, finish, opening


def _open(request: str) -> str | None:
    c = constraints(request)
    return opening(request, c, None if c.items else addressee(request, c))


@pytest.mark.parametrize("request_, start", [
    ("a note to Lucia saying the workshop starts at 9 am", "Hi Lucia, the workshop starts at 9 am."),
    ("an email to Mr. Osei saying that invoice 208 is paid", "Hi Mr. Osei, invoice 208 is paid."),
    ("a message to Kim telling her the parcel came on Friday", "Hi Kim, the parcel came on Friday."),
    ("a reminder for Ravi that the report is due on 2 July", "Hi Ravi, just a reminder that the report is due on 2 July."),
    ("a thank-you note to Dr. Weiss for the 4 tickets, under 20 words", "Hi Dr. Weiss, thank you for the 4 tickets."),
    ("one sentence inviting Mia and Leo to the barbecue on Sunday",
     "Hi Mia and Leo, would you like to come to the barbecue on Sunday?"),
    ("a list of two reasons to learn Welsh", "Two reasons to learn Welsh: 1."),
    ("a poem about the night train to Vienna", "The night train to Vienna /"),
    ("a tweet saying our shop opens at 8 am on Monday", "Our shop opens at 8 am on Monday."),
])
def test_the_opening_says_what_the_request_asks_to_be_said(request_, start):
    assert _open(request_) == start


@pytest.mark.parametrize("request_", ["a short story", "a one-line goodbye note to Priya", "something funny"])
def test_no_opening_without_a_content_clause(request_):
    assert _open(request_) is None


def test_an_opening_alone_meets_the_requests_names_and_numbers():
    request = "an email to Ms. Novak saying order 5520 ships on 3 June"
    c = constraints(request)
    assert unmet(_open(request), c) == []


def test_finish_cuts_sentences_beyond_the_count_but_never_the_opening():
    c = constraints("one sentence inviting Tom to lunch on Friday")
    start = "Hi Tom, would you like to come to lunch on Friday?"
    assert finish(start + " We have soup. It is hot.", start, c) == start


def test_finish_drops_whole_sentences_over_a_word_limit():
    c = constraints("a thank-you note to Ana for the cake, under 15 words")
    start = "Hi Ana, thank you for the cake."
    out = finish(start + " It was delicious. Everyone at the party loved it and asked for more.", start, c)
    assert out == start + " It was delicious."


def test_finish_keeps_the_lines_asked_for():
    c = constraints("a two-line message to Bo saying I am late")
    start = "Hi Bo, I am late."
    assert finish(start + " / Start without me. / See you soon.", start, c) == "Hi Bo, I am late.\nStart without me."


def test_finish_sets_a_list_out_under_its_heading():
    c = constraints("a list of three fruits for a picnic")
    start = "Three fruits for a picnic: 1."
    assert finish(start + " Apples 2. Grapes 3. Pears 4. Plums", start, c) == \
        "Three fruits for a picnic:\n1. Apples\n2. Grapes\n3. Pears"
    assert finish(start + " Apples. Grapes. Pears.", start, c) == \
        "Three fruits for a picnic:\n1. Apples.\n2. Grapes.\n3. Pears."


def test_finish_leaves_an_answer_that_lost_its_opening_alone():
    c = constraints("one sentence inviting Tom to lunch on Friday")
    assert finish("Something else. And more.", "Hi Tom, would you like to come to lunch on Friday?", c) == \
        "Something else. And more."


def test_extended_goes_on_from_a_poem_with_too_few_lines():
    c = constraints("a haiku about rain")
    assert extended("Rain / on the roof", "Rain /", c) == "Rain / on the roof /"
    assert extended("Rain / on the roof / all night", "Rain /", c) is None      # enough lines
    assert extended("Rain", "Rain /", constraints("a note to Bo saying hi")) is None  # no line count
