"""Deterministic generator for the synthetic "support tickets" domain.

Every record pairs a short customer-support ticket with the answer a model is
expected to produce: a compact, single-line JSON object with the keys
``category``, ``priority`` and ``order_id`` in that fixed order, e.g.::

    {"category": "shipping", "priority": "high", "order_id": "ORD-48213"}

The domain is small enough for a tiny model trained from scratch to master,
yet it exercises three different skills (topic classification, a rule over
cues spread through the text, exact copying) that can each degrade under
weight quantization:

* **category** - topic classification. Each of the eight categories has many
  paraphrased "issue" sentences; the category is simply the topic the issue
  sentences describe (see :data:`ISSUES`).
* **priority** - a "most severe cue wins" ladder over three cue dimensions
  whose phrases may appear anywhere in the ticket (see :func:`priority_for`):

  ========  =============================================================
  cue       levels
  ========  =============================================================
  urgency   0 none or relaxed ("no rush") / 1 mild ("soon", "today") /
            2 strong ("URGENT", "ASAP", "immediately", "emergency")
  tier      0 none or free/basic plan / 1 Plus or Premium / 2 Enterprise
  impact    0 none or "minor" / 1 blocks the customer / 2 blocks a business
            (whole team, lost sales, affected customers, halted operations)
  ========  =============================================================

  ``urgent`` if urgency is strong; otherwise ``high`` if the impact is
  business-wide; otherwise ``medium`` if there is any mild urgency, any paid
  tier or a personal impact; otherwise ``low``.
* **order_id** - verbatim copying of an identifier of the form ``ORD-`` plus
  :data:`ORDER_ID_DIGITS` (five) random digits. About 15 % of tickets carry
  no order identifier, in which case the answer holds ``null``. Some tickets
  also contain distracting numbers (invoice numbers, amounts, phone
  extensions) that must not be copied.

Everything is driven by a single :class:`random.Random` instance, so the same
``seed`` always yields exactly the same records, on every platform and Python
version that keeps ``random``'s documented reproducibility guarantees.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "ANSWER_SCHEMA",
    "CATEGORIES",
    "DEFAULT_SEED",
    "HELDOUT_SIZE",
    "ORDER_ID_DIGITS",
    "ORDER_ID_PATTERN",
    "PRIORITIES",
    "SYSTEM_PROMPT",
    "TRAIN_SIZE",
    "VERSION",
    "format_answer",
    "generate",
    "make_ticket",
    "new_order_id",
    "parse_answer",
    "priority_for",
    "split",
    "to_jsonl",
]

#: Version of the generator / data set. Bump when the output changes.
VERSION = "1.1.0"

#: Seed used for the published data set.
DEFAULT_SEED = 20240611

#: Size of the training split written by :mod:`harness.models.embedded.train`.
TRAIN_SIZE = 3000

#: Size of the held-out evaluation split.
HELDOUT_SIZE = 300

#: The single, fixed system instruction shared by every record.
SYSTEM_PROMPT = "Classify the support ticket. Reply with JSON: category, priority, order_id."

#: Topic classes, in the order used by the JSON schema enum.
CATEGORIES: tuple[str, ...] = (
    "billing",
    "shipping",
    "refund",
    "account",
    "technical",
    "cancellation",
    "product_defect",
    "other",
)

#: Priority classes, from least to most pressing.
PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "urgent")

#: Number of random digits in an order identifier (``ORD-`` + digits).
ORDER_ID_DIGITS = 5

#: Regular expression an order identifier must match (anchored).
ORDER_ID_PATTERN = rf"^ORD-[0-9]{{{ORDER_ID_DIGITS}}}$"

#: JSON Schema (draft 2020-12 compatible) describing a valid answer object.
ANSWER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "SupportTicketTriage",
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "priority": {"type": "string", "enum": list(PRIORITIES)},
        "order_id": {"anyOf": [{"type": "string", "pattern": ORDER_ID_PATTERN}, {"type": "null"}]},
    },
    "required": ["category", "priority", "order_id"],
    "additionalProperties": False,
}

# ---------------------------------------------------------------------------
# Phrase banks
# ---------------------------------------------------------------------------

#: Physical products a customer may have bought.
ITEMS: tuple[str, ...] = (
    "wireless headphones",
    "coffee grinder",
    "standing desk",
    "desk lamp",
    "blender",
    "backpack",
    "phone case",
    "bluetooth speaker",
    "office chair",
    "electric kettle",
    "smart watch",
    "air purifier",
    "keyboard",
    "monitor arm",
    "water bottle",
    "running shoes",
    "rain jacket",
    "camping tent",
    "toaster",
    "hair dryer",
    "webcam",
    "baby monitor",
    "yoga mat",
    "drill set",
)

#: Software surfaces used by technical and account tickets.
APPS: tuple[str, ...] = (
    "the mobile app",
    "the iPhone app",
    "the Android app",
    "the web dashboard",
    "the desktop app",
    "your website",
    "the customer portal",
    "the browser extension",
)

NAMES: tuple[str, ...] = (
    "Maria",
    "John",
    "Priya",
    "Chen",
    "Olga",
    "Ahmed",
    "Lucas",
    "Emma",
    "Kenji",
    "Fatima",
    "Tom",
    "Sofia",
    "Daniel",
    "Aisha",
    "Mateo",
    "Hannah",
    "Ivan",
    "Grace",
    "J. Miller",
    "R. Okafor",
    "L. Novak",
    "S. Park",
)

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Issue sentences per category. Slots: {item}, {app}, {amount}, {days}.
ISSUES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for the same purchase.",
        "My card was billed {amount} but the price at checkout was lower.",
        "There is a charge of {amount} on my statement that I don't recognize.",
        "The invoice shows the wrong total for the {item}.",
        "Your payment page keeps declining my credit card.",
        "I need a corrected invoice with our company tax number on it.",
        "I got billed {amount} for a plan upgrade I never asked for.",
        "My bank shows two identical charges of {amount} from you.",
        "The monthly fee went up without any notice.",
        "Why was I charged a service fee of {amount}?",
    ),
    "shipping": (
        "My package with the {item} still hasn't arrived after {days} days.",
        "The tracking number hasn't updated in {days} days.",
        "The courier says it was delivered but there is nothing at my door.",
        "The parcel went to my old address instead of the new one.",
        "Can you change the delivery address before it ships?",
        "Delivery was due {days} days ago and it's still in transit.",
        "The {item} seems to be stuck at the sorting center.",
        "The delivery driver left my parcel with the wrong neighbour.",
        "Only half of my shipment showed up, the second box never came.",
        "The estimated delivery date keeps getting pushed back.",
    ),
    "refund": (
        "I returned the {item} {days} days ago and still have no refund.",
        "I would like my money back for the {item}.",
        "Please refund the {amount} to my original payment method.",
        "The return was accepted but the refund never reached my card.",
        "I want a full refund, the {item} is not what I expected.",
        "You promised a refund of {amount} and I haven't seen it yet.",
        "How long does it take to get my money back after a return?",
        "My refund was only partial, {amount} is still missing.",
        "I sent the {item} back, please process my refund.",
    ),
    "account": (
        "I can't log into my account, it says my password is wrong.",
        "The password reset email never arrives.",
        "My account got locked after a few login attempts.",
        "I need to change the email address on my account.",
        "The two-factor codes don't reach my phone so I can't sign in.",
        "I see logins on my account that were not me.",
        "I can't update the phone number in my profile.",
        "My username disappeared and the login page says the account does not exist.",
        "Please help me recover access to my old account.",
    ),
    "technical": (
        "{app} crashes every time I open the settings page.",
        "I get an error 500 when I try to upload a file in {app}.",
        "The sync between {app} and the website stopped working.",
        "{app} just spins forever and never loads.",
        "Your API returns a timeout error on every request.",
        "Notifications in {app} stopped working after the last update.",
        "The export button in {app} produces an empty file.",
        "{app} freezes when I try to search.",
        "The checkout page shows a blank screen in {app}.",
        "Since the update, {app} logs me out every few minutes.",
    ),
    "cancellation": (
        "Please cancel my order for the {item}, I no longer need it.",
        "I want to cancel my subscription before the next renewal.",
        "How do I stop the automatic renewal of my plan?",
        "I ordered the {item} by mistake, please cancel it.",
        "Please end my membership at the end of this month.",
        "I changed my mind and want to cancel the order.",
        "Cancel the {item} please, I found it cheaper elsewhere.",
        "I don't want the {item} anymore, please cancel before it ships.",
        "Please stop my subscription, I will not renew.",
    ),
    "product_defect": (
        "The {item} arrived broken, the casing is cracked.",
        "The {item} stopped working after {days} days of normal use.",
        "The box was missing parts, there is no power cable for the {item}.",
        "The {item} makes a loud grinding noise and gets very hot.",
        "One of the buttons on the {item} is stuck.",
        "The {item} won't turn on even when fully charged.",
        "The {item} has a big scratch and a dent on the side.",
        "The zipper on the {item} broke the first time I used it.",
        "The {item} leaks water from the bottom.",
        "The {item} I received is faulty, it keeps shutting off.",
    ),
    "other": (
        "Do you have the {item} in a different color?",
        "I just wanted to say your team was very helpful last time.",
        "Are you planning to open a store in my city?",
        "Can I get a bulk discount if my company buys ten of the {item}?",
        "What are your customer service hours on weekends?",
        "I have a suggestion for your product catalog.",
        "Is there an extended warranty for the {item}?",
        "Do you offer gift wrapping for the {item}?",
        "Is the {item} made from recycled materials?",
        "Could you tell me if the {item} will be back in stock?",
    ),
}

#: Optional follow-up sentences that reinforce a category without new cues.
FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "billing": (
        "I checked my bank statement this morning.",
        "The amount does not match my receipt.",
        "Please correct the charge.",
    ),
    "shipping": (
        "The tracking page gives no useful information.",
        "I have been checking the tracking every day.",
        "Please tell me where my package is.",
    ),
    "refund": (
        "I still have the return receipt.",
        "Please let me know when the refund is issued.",
        "The return label said it was received.",
    ),
    "account": (
        "I already tried resetting my password twice.",
        "Please help me get back into my account.",
        "I don't remember changing any login settings.",
    ),
    "technical": (
        "I already reinstalled it and cleared the cache.",
        "It worked fine until last week.",
        "I can send screenshots of the error.",
    ),
    "cancellation": (
        "Please confirm the cancellation by email.",
        "I don't want to be charged again.",
        "Please make sure nothing else gets sent.",
    ),
    "product_defect": (
        "I attached photos of the damage.",
        "I handled it carefully and followed the manual.",
        "I would like a replacement unit.",
    ),
    "other": ("Just curious, thanks.", "I couldn't find this in the FAQ.", "Looking forward to your answer."),
}

#: Urgency cue sentences by level (level 0 may also be absent).
URGENCY: tuple[tuple[str, ...], ...] = (
    ("Whenever you get a chance is fine.", "There's no rush on this."),
    (
        "Please look into this soon.",
        "I'd appreciate a quick reply.",
        "Could you get back to me today?",
        "Hoping to get this sorted this week.",
    ),
    (
        "This is URGENT.",
        "I need this resolved ASAP.",
        "Please fix this immediately!",
        "This is an emergency, please act now.",
    ),
)

#: Customer-tier cue sentences by level (level 0 may also be absent).
TIER: tuple[tuple[str, ...], ...] = (
    ("I'm on the free plan.", "I have a basic account."),
    ("I'm a Plus member.", "I pay for the Premium plan.", "I have been a Premium subscriber for a while."),
    (
        "We are an Enterprise customer.",
        "Our company has an Enterprise contract with you.",
        "This is for our business account on the Enterprise tier.",
    ),
)

#: Business-impact cue sentences by level (level 0 may also be absent).
IMPACT: tuple[tuple[str, ...], ...] = (
    ("It's only a minor annoyance.", "It's not a big deal."),
    (
        "I can't use it at all right now.",
        "This is stopping me from getting my work done.",
        "I really depend on this every day.",
    ),
    (
        "Our whole team is blocked by this.",
        "We are losing sales every hour this goes on.",
        "Hundreds of our customers are affected.",
        "Our store operations have come to a halt.",
    ),
)

#: Probability that a ticket of a given category carries no order identifier.
NO_ORDER_PROBABILITY: dict[str, float] = {
    "billing": 0.06,
    "shipping": 0.03,
    "refund": 0.05,
    "account": 0.40,
    "technical": 0.30,
    "cancellation": 0.08,
    "product_defect": 0.05,
    "other": 0.25,
}

#: Ways of mentioning the order identifier; {oid} is the identifier.
ORDER_MENTIONS: tuple[str, ...] = (
    "My order number is {oid}.",
    "This is about order {oid}.",
    "Order ref: {oid}.",
    "The order in question is {oid}.",
    "Reference {oid} for my order.",
    "(order {oid})",
    "Order #{oid}.",
    "It was order {oid}.",
)

#: Sentences occasionally used when no identifier is present.
NO_ORDER_MENTIONS: tuple[str, ...] = (
    "I can't find my order number right now.",
    "I don't have the order number with me.",
)

#: Distracting numbers that look a bit like identifiers but must not be copied.
DISTRACTORS: tuple[str, ...] = (
    "My invoice number is INV-{n5}.",
    "You can call me at extension {n4}.",
    "My previous ticket was #{n4}.",
    "My customer number is {n6}.",
    "The total came to {amount}.",
)

GREETINGS: tuple[str, ...] = (
    "Hi,",
    "Hello,",
    "Hi team,",
    "Hey there,",
    "Good morning,",
    "Dear Support,",
    "Hello support,",
    "Hi folks,",
)

CLOSINGS: tuple[str, ...] = (
    "Thanks.",
    "Thank you!",
    "Regards, {name}",
    "Cheers, {name}",
    "Best, {name}",
    "- {name}",
    "Thanks in advance, {name}",
    "Sent from my phone",
)

#: Neutral context sentences (no category, priority or identifier signal).
CONTEXT: tuple[str, ...] = (
    "I ordered it on {weekday}.",
    "I have been a customer for {years} years.",
    "I already tried the live chat yesterday.",
    "My name is {name}.",
    "I'm writing from my work email.",
    "A friend recommended your shop.",
    "I read the help pages first.",
    "This happened on {weekday} evening.",
)

MIN_WORDS = 25
MAX_WORDS = 70

_TYPO_WORD = re.compile(r"^[a-z]{5,}$")


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------


def priority_for(urgency: int, tier: int, impact: int) -> str:
    """Return the priority implied by the three cue levels (each 0, 1 or 2).

    The most severe cue wins: strong urgency -> ``urgent``; else business-wide
    impact -> ``high``; else mild urgency, a paid tier or personal impact ->
    ``medium``; else ``low``.
    """
    for level in (urgency, tier, impact):
        if level not in (0, 1, 2):
            raise ValueError(f"cue levels must be 0, 1 or 2, got {level!r}")
    if urgency == 2:
        return "urgent"
    if impact == 2:
        return "high"
    if urgency or tier or impact:
        return "medium"
    return "low"


#: Every (urgency, tier, impact) combination, grouped by the priority it yields.
_CUES_BY_PRIORITY: dict[str, tuple[tuple[int, int, int], ...]] = {
    p: tuple((u, t, i) for u in range(3) for t in range(3) for i in range(3) if priority_for(u, t, i) == p)
    for p in PRIORITIES
}


def new_order_id(rng: random.Random) -> str:
    """Return a fresh ``ORD-`` identifier with :data:`ORDER_ID_DIGITS` random digits (no leading 0)."""
    return f"ORD-{rng.randint(10 ** (ORDER_ID_DIGITS - 1), 10**ORDER_ID_DIGITS - 1)}"


def format_answer(category: str, priority: str, order_id: str | None) -> str:
    """Serialize the answer as compact single-line JSON with fixed key order."""
    return json.dumps({"category": category, "priority": priority, "order_id": order_id})


def parse_answer(text: str) -> dict[str, Any] | None:
    """Parse a model answer; return the dict, or ``None`` if it is not valid JSON."""
    try:
        value = json.loads(text.strip())
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


# ---------------------------------------------------------------------------
# Ticket construction
# ---------------------------------------------------------------------------


def _fill(template: str, rng: random.Random) -> str:
    """Fill the optional slots of a phrase template from ``rng``."""
    values = {
        "item": rng.choice(ITEMS),
        "app": rng.choice(APPS),
        "amount": f"${rng.randint(5, 499)}.{rng.randint(0, 99):02d}",
        "days": str(rng.randint(2, 21)),
        "name": rng.choice(NAMES),
        "weekday": rng.choice(WEEKDAYS),
        "years": str(rng.randint(2, 12)),
        "n4": str(rng.randint(1000, 9999)),
        "n5": str(rng.randint(10000, 99999)),
        "n6": str(rng.randint(100000, 999999)),
    }
    text = template.format(**values)
    # Sentences that start with a slot such as "{app}" need a capital letter.
    return text[0].upper() + text[1:]


def _cue_sentence(bank: tuple[tuple[str, ...], ...], level: int, rng: random.Random) -> str | None:
    """Return a cue sentence for ``level``; level-0 cues are usually omitted."""
    if level == 0 and rng.random() < 0.7:
        return None
    return rng.choice(bank[level])


def _add_typo(sentence: str, rng: random.Random) -> str:
    """Swap two adjacent letters inside one longer lowercase word, if any."""
    words = sentence.split(" ")
    candidates = [k for k, w in enumerate(words) if _TYPO_WORD.match(w)]
    if not candidates:
        return sentence
    k = rng.choice(candidates)
    w = words[k]
    j = rng.randint(1, len(w) - 2)
    words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def make_ticket(rng: random.Random, category: str, priority: str) -> tuple[str, dict[str, Any]]:
    """Build one ticket text for ``category``/``priority`` and its answer fields.

    The text is assembled from slots: optional greeting, one or two issue
    sentences (plus an optional follow-up), the priority cue sentences, the
    order mention (or its absence), optional neutral context and distractor
    sentences, and an optional closing. Non-issue slots are shuffled, light
    noise (a typo, lower-casing, a dropped final period) is applied, and the
    result is regenerated until it has ``MIN_WORDS``-``MAX_WORDS`` words.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")

    while True:
        urgency, tier, impact = rng.choice(_CUES_BY_PRIORITY[priority])
        has_order = rng.random() >= NO_ORDER_PROBABILITY[category]
        order_id = new_order_id(rng) if has_order else None

        issues = list(rng.sample(ISSUES[category], 2 if rng.random() < 0.3 else 1))
        issue_sents = [_fill(s, rng) for s in issues]
        if rng.random() < 0.3:
            issue_sents.append(rng.choice(FOLLOW_UPS[category]))
        if rng.random() < 0.2:
            k = rng.randrange(len(issue_sents))
            issue_sents[k] = _add_typo(issue_sents[k], rng)

        extras: list[str] = []
        for bank, level in ((URGENCY, urgency), (TIER, tier), (IMPACT, impact)):
            cue = _cue_sentence(bank, level, rng)
            if cue is not None:
                extras.append(cue)
        if order_id is not None:
            extras.append(rng.choice(ORDER_MENTIONS).format(oid=order_id))
        elif rng.random() < 0.3:
            extras.append(rng.choice(NO_ORDER_MENTIONS))
        if rng.random() < 0.25:
            extras.append(_fill(rng.choice(DISTRACTORS), rng))
        context = list(CONTEXT)
        rng.shuffle(context)
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            extras.append(_fill(context.pop(), rng))
        rng.shuffle(extras)

        # The issue usually leads, but sometimes a cue or the order comes first.
        lead = 0 if rng.random() < 0.7 or not extras else 1
        body = extras[:lead] + issue_sents + extras[lead:]

        parts: list[str] = []
        if rng.random() < 0.7:
            parts.append(rng.choice(GREETINGS))
        parts.extend(body)
        if rng.random() < 0.6:
            parts.append(_fill(rng.choice(CLOSINGS), rng))

        text = " ".join(parts)
        if rng.random() < 0.08:
            # Lower-case everything except the identifier, which stays verbatim.
            text = text.lower()
            if order_id is not None:
                text = text.replace(order_id.lower(), order_id)
        if rng.random() < 0.15 and text.endswith("."):
            text = text[:-1]

        n_words = len(text.split())
        while n_words < MIN_WORDS and context:
            text = f"{text} {_fill(context.pop(), rng)}"
            n_words = len(text.split())
        if MIN_WORDS <= n_words <= MAX_WORDS:
            break

    fields = {"category": category, "priority": priority, "order_id": order_id}
    return text, fields


def _iter_tickets(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield tickets forever, cycling categories and priorities in shuffled blocks.

    Each block of 32 tickets contains every (category, priority) pair exactly
    once, so any prefix of the stream is close to perfectly balanced.
    """
    pairs = [(c, p) for c in CATEGORIES for p in PRIORITIES]
    while True:
        block = pairs[:]
        rng.shuffle(block)
        for category, priority in block:
            yield make_ticket(rng, category, priority)


#: The answer's canonical shape (key order, spacing, value forms) as a regular expression.
ANSWER_PATTERN = (
    r'^\{"category": "('
    + "|".join(CATEGORIES)
    + r')", "priority": "('
    + "|".join(PRIORITIES)
    + r')", "order_id": (null|"ORD-[0-9]{5}")\}$'
)
#: File name of ANSWER_SCHEMA next to the data files (written by ``train.write_dataset``).
SCHEMA_FILE = "answer.schema.json"


def checks_for(fields: dict[str, Any]) -> dict[str, Any]:
    """The harness checks that apply to a held-out record (docs/guides/evaluation-data.md)."""
    checks: dict[str, Any] = {
        "exact_match": True,
        "json_valid": True,
        "json_schema": SCHEMA_FILE,
        "regex": ANSWER_PATTERN,
        "contains": [fields["category"], fields["priority"]],
        "rouge_l": True,
    }
    if fields["order_id"] is not None:
        checks["numeric"] = {"value": int(fields["order_id"].split("-")[1]), "tolerance": 0}
    return checks


def _record(split_name: str, index: int, text: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Wrap a ticket into the chat-style JSONL record format (held-out records also carry the
    checks the harness scores)."""
    record = {
        "id": f"tk-{split_name}-{index:05d}",
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}],
        "reference": format_answer(fields["category"], fields["priority"], fields["order_id"]),
        "fields": dict(fields),
    }
    if split_name == "heldout":
        record["checks"] = checks_for(fields)
    return record


def generate(n: int, seed: int = DEFAULT_SEED, split_name: str = "gen") -> list[dict[str, Any]]:
    """Generate ``n`` records with unique ticket texts from ``seed``.

    Records are numbered from 1 with ids ``tk-<split_name>-00001`` and so on.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    rng = random.Random(seed)
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for text, fields in _iter_tickets(rng):
        if len(records) >= n:
            break
        if text in seen:
            continue
        seen.add(text)
        records.append(_record(split_name, len(records) + 1, text, fields))
    return records


def split(
    seed: int = DEFAULT_SEED, train_size: int = TRAIN_SIZE, heldout_size: int = HELDOUT_SIZE
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return ``(train, heldout)`` drawn from one stream with no shared ticket text.

    The held-out set is drawn first (so its contents do not depend on
    ``train_size``), then the training set, skipping any text already used.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {"heldout": [], "train": []}
    plan: Sequence[tuple[str, int]] = (("heldout", heldout_size), ("train", train_size))
    stream = _iter_tickets(rng)
    for name, size in plan:
        bucket = out[name]
        while len(bucket) < size:
            text, fields = next(stream)
            if text in seen:
                continue
            seen.add(text)
            bucket.append(_record(name, len(bucket) + 1, text, fields))
    return out["train"], out["heldout"]


def to_jsonl(records: Sequence[dict[str, Any]]) -> str:
    """Serialize records as JSONL text (one object per line, trailing newline)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
