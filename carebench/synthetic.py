"""Write seeded, TWCS-shaped synthetic customer-care conversations, streamed in batches.

The file has the TWCS header (`tweet_id,author_id,inbound,created_at,text,
response_tweet_id,in_response_to_tweet_id`), Twitter dates (`Tue Oct 31 22:10:47 +0000
2017`), customers as numeric author ids, brands as handles, parent ids written as floats
(`3.0`, the real file's quirk) and `response_tweet_id` as the comma-separated child ids.
Tweet ids count up in the order posts are written, and a parent is always written before
its replies. They are this file's own, not the real corpus's: a last, empty column named
`carebench_namespace=gen<seed>` tells the importer to keep them in a namespace of their
own ("gen1:42"), so a generated file never overwrites real TWCS posts in a store, nor one
generated with another seed. Conversations are drawn `batch_conversations` at a time with
numpy (brands, lengths, times, random picks) and written as they are made, so memory does
not grow with the number of posts. The same seed (and the same `posts` and batch size)
gives the same bytes; the last conversation is cut short when needed so the file holds
exactly `posts`.

Brand personas (fictional brands; "reply" is the median minutes of a first reply to a
post written in the brand's business hours, 09-18 local on weekdays; outside them replies
take 2x as long, and at weekends 1.5x more; each reply time is log-normal with sigma 1.0):

| brand           | industry  | tz | reply | defl | to    | tmpl | signs  | emp  | fix  | rep  |
|-----------------|-----------|----|-------|------|-------|------|--------|------|------|------|
| SkyLarkAir      | airline   | -5 | 4     | 30%  | dm    | 20%  | ^AB    | 80%  | 55%  | 4%   |
| NorthJetHelp    | airline   | +0 | 30    | 55%  | phone | 60%  | no     | 40%  | 30%  | 8%   |
| VoltMobileCare  | telecom   | -8 | 1.5   | 90%  | dm    | 85%  | -Becky | 90%  | 20%  | 10%  |
| BeaconTelHelp   | telecom   | -6 | 6     | 40%  | web   | 30%  | ^AB    | 60%  | 45%  | 6%   |
| ThreadShopCare  | retail    | +0 | 11    | 35%  | email | 40%  | -Becky | 70%  | 50%  | 5%   |
| MarketHallHelp  | retail    | +1 | 45    | 50%  | store | 50%  | no     | 30%  | 35%  | 7%   |
| ReelBoxSupport  | streaming | -8 | 3     | 8%   | web   | 8%   | -Becky | 85%  | 75%  | 3%   |
| TuneStreamCares | streaming | +1 | 15    | 25%  | web   | 25%  | ^AB    | 50%  | 60%  | 4%   |
| DashDinnerHelp  | food      | -5 | 1     | 60%  | dm    | 90%  | no     | 60%  | 40%  | 6%   |
| GrubRunSupport  | food      | +0 | 7     | 20%  | email | 20%  | -Becky | 75%  | 60%  | 4%   |
| HarbourBankHelp | bank      | +0 | 22    | 95%  | phone | 70%  | no     | 40%  | 10%  | 10%  |
| CedarBankCares  | bank      | -5 | 5     | 70%  | dm    | 35%  | ^AB    | 70%  | 30%  | 6%   |

- defl (deflects): share of replies (first or later) that send the case to another channel;
  the main channel takes 80% of them, the rest go to the brand's second channel.
- tmpl (templated): share of replies taken from the brand's few fixed templates (filled with the
  customer's first name, an order number and the agent's sign-off); the others are
  assembled from varied phrases. signs: `^AB` initials or `-Becky` names at the end.
- emp (empathy): share of replies opening with an apology or acknowledgement.
- fix: chance the customer confirms a public fix worked ("that worked, thanks!")
  instead of saying it is still not working.
- rep (repeat): chance a customer comes back 1-6 days later with a new root (repeat contact).

Conversations: a customer root (problem or question texts per industry; 15% praise or
banter that is no care request), then brand and customer turns alternating (thanks after
a fix, "still not working" after a failed one, "sent you a DM" after a deflection), and 5%
of roots unanswered. Customers' roots fall mostly in their daytime.

Calibration against the real sample `twcs_head_5k.csv` (measured with CareBench's own
conversation builder, `analyse`): there, posts per conversation are 2: 50%, 3: 12%,
4: 17%, 5: 6%, 6: 5%, 7-13: 10% (every conversation answered) and the overall median
TTFR is 740 s. `_LENGTH_PMF` follows that shape (plus 5% unanswered one-post roots), and
the reply medians above were tuned so that 50,000 synthetic posts (seed 1) give 1: 5%,
2: 48%, 3: 15%, 4: 15%, 5: 5%, 6: 5%, 7-12: 7% and an overall median TTFR of 742 s.

Texts are calibrated on the two real samples too (`twcs_head_5k.csv`,
`twcs_random_5k.csv`). A customer's post is a core text dressed as real ones are (see
`_customer_post`): details with their own numbers and places, a t.co link, a tagged
friend, an opener, a closing emoji or "!!", and the curly apostrophe of 30% of keyboards.
Each kind of post (problem, praise, solved, still broken, after a deflection, closing)
draws its details from its own list, checked to leave what CareBench reads in it as it
was: praise stays no care request, a "still not working" stays a problem. 200,000 posts
(seed 1) against the samples: customer posts 94 characters on average (real 108-111),
15% with a link (14-19%), 17% tagging a second account (18-20%), 26% with a non-ASCII
character (26-31%), 78% distinct (99.9%). Brand replies: 10% non-ASCII (9-11%), 30%
with a t.co link (27-34%: the DM button on 80% of DM requests, a help article on 30% of
fixes, the page a web deflection names), but 149 characters long (107-120): a personal
reply is a greeting, a lead, a bridge, the answer and a closer, so that two of them
rarely look like one template, and fewer parts would make them do so. Per-brand figures
(TTFR, deflection, templates, resolution, empathy) are as before the texts were dressed;
templated ratios moved by at most 0.005 when the brand replies got their links and
shorter phrases.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from carebench.collectors.twcs import NAMESPACE_COLUMN, TWCS_COLUMNS

# The generated file has exactly the columns of the Kaggle file the twcs reader reads.
HEADER: tuple[str, ...] = TWCS_COLUMNS


def namespace(seed: int) -> str:
    """The id namespace of the posts generated with `seed`."""
    return f"gen{seed}"


def header(seed: int) -> tuple[str, ...]:
    """The header line of a file generated with `seed`: TWCS's, then the namespace column."""
    return (*HEADER, f"{NAMESPACE_COLUMN}={namespace(seed)}")


Channel = str  # "dm" | "phone" | "web" | "email" | "store"


@dataclass(frozen=True)
class Persona:
    """How one brand answers: speed, deflection, templates, signatures, empathy."""

    handle: str
    industry: str
    utc_offset_hours: int
    reply_minutes: float
    deflect_share: float
    channels: tuple[Channel, Channel]
    templated_share: float
    signs: str | None  # "caret" (^AB), "dash" (-Becky) or None
    empathy_share: float
    public_fix_share: float
    repeat_share: float
    weight: float = 1.0


PERSONAS: tuple[Persona, ...] = (
    Persona("SkyLarkAir", "airline", -5, 4, 0.30, ("dm", "phone"), 0.20, "caret", 0.8, 0.55, 0.04),
    Persona("NorthJetHelp", "airline", 0, 30, 0.55, ("phone", "web"), 0.60, None, 0.4, 0.30, 0.08),
    Persona(
        "VoltMobileCare", "telecom", -8, 1.5, 0.90, ("dm", "web"), 0.85, "dash", 0.9, 0.20, 0.10
    ),
    Persona("BeaconTelHelp", "telecom", -6, 6, 0.40, ("web", "dm"), 0.30, "caret", 0.6, 0.45, 0.06),
    Persona(
        "ThreadShopCare", "retail", 0, 11, 0.35, ("email", "dm"), 0.40, "dash", 0.7, 0.50, 0.05
    ),
    Persona(
        "MarketHallHelp", "retail", 1, 45, 0.50, ("store", "email"), 0.50, None, 0.3, 0.35, 0.07
    ),
    Persona(
        "ReelBoxSupport", "streaming", -8, 3, 0.08, ("web", "dm"), 0.08, "dash", 0.85, 0.75, 0.03
    ),
    Persona(
        "TuneStreamCares", "streaming", 1, 15, 0.25, ("web", "email"), 0.25, "caret", 0.5, 0.6, 0.04
    ),
    Persona("DashDinnerHelp", "food", -5, 1, 0.60, ("dm", "email"), 0.90, None, 0.6, 0.40, 0.06),
    Persona("GrubRunSupport", "food", 0, 7, 0.20, ("email", "dm"), 0.20, "dash", 0.75, 0.60, 0.04),
    Persona("HarbourBankHelp", "bank", 0, 22, 0.95, ("phone", "dm"), 0.70, None, 0.4, 0.10, 0.10),
    Persona("CedarBankCares", "bank", -5, 5, 0.70, ("dm", "phone"), 0.35, "caret", 0.7, 0.30, 0.06),
)

# Posts per conversation: the real sample's shape (all answered) plus 5% unanswered roots.
_LENGTH_PMF: dict[int, float] = {
    1: 0.05,
    2: 0.475,
    3: 0.09,
    4: 0.175,
    5: 0.055,
    6: 0.05,
    7: 0.02,
    8: 0.02,
    9: 0.012,
    10: 0.015,
    11: 0.007,
    12: 0.004,
    13: 0.005,
}
_MAX_LEN = max(_LENGTH_PMF)
_PRAISE_SHARE = 0.15
_REPLY_SIGMA = 1.0
_OUT_OF_HOURS_FACTOR = 2.0
_WEEKEND_FACTOR = 1.5
_LATER_REPLY_FACTOR = 0.7  # brands answer a follow-up faster than a new case
_CUSTOMER_REPLY_SECONDS = 600.0
_START = 1506816000  # Sun Oct 01 2017 00:00 UTC, like the real data's weeks
_DAYS = 61
_FIRST_CUSTOMER_ID = 100_000
_PICK_RANGE = 1 << 30  # a turn's picks are uniform integers in [0, _PICK_RANGE)
# When customers write, by local hour: quiet at night, busy in the day and evening.
_HOUR_WEIGHTS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5, 4.5, 4, 3, 2],
    dtype=float,
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --- texts ------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Sarah",
    "Tom",
    "Priya",
    "James",
    "Aisha",
    "Daniel",
    "Chloe",
    "Marco",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Fatima",
    "Lucas",
    "Grace",
    "Ethan",
    "Mia",
    "Oscar",
    "Zoe",
    "Ravi",
    "Hannah",
    "Leo",
    "Nina",
    "Samuel",
    "Ruby",
    "Adam",
    "Isla",
    "Kofi",
    "Maya",
    "Ben",
    "Elena",
    "Jack",
    "Amara",
    "Finn",
    "Sofia",
    "Harry",
    "Layla",
    "Diego",
    "Ella",
    "Owen",
    "Yusuf",
    "Megan",
    "Aaron",
    "Jade",
    "Carlos",
    "Lucy",
    "Nathan",
    "Freya",
    "Omar",
    "Holly",
)
_AGENT_NAMES = (
    "Becky",
    "Dan",
    "Sam",
    "Priya",
    "Jo",
    "Chris",
    "Kate",
    "Mike",
    "Alex",
    "Tara",
    "Nick",
    "Lisa",
    "Raj",
    "Ellie",
    "Mark",
    "Gina",
)

_ROOTS: dict[str, tuple[str, ...]] = {
    "airline": (
        "my flight {code} has been delayed three hours and nobody at the gate can tell us why",
        "lost my bag on {code} yesterday, where is it and how do I get it back?",
        "I was charged twice for seat selection on booking {order}, can you refund one?",
        "why was flight {code} cancelled with no notice? I need to get home today",
        "can't check in online for {code}, the app keeps showing an error",
        "my refund for booking {order} still hasn't arrived after 6 weeks",
        "how do I add my frequent flyer number to booking {order}?",
        "the wifi on {code} was not working the whole flight, can I get my money back?",
    ),
    "telecom": (
        "no signal at all in my area since this morning, is there an outage?",
        "my internet keeps dropping every 10 minutes, this is ridiculous",
        "I've been overcharged on my bill again, account {order}",
        "my new phone won't activate, it just says sim not provisioned",
        "why is my data so slow today? can barely load a page",
        "I was promised an engineer visit yesterday and nobody came",
        "how do I unlock my phone to use abroad?",
        "wifi router keeps restarting itself, help please",
    ),
    "retail": (
        "my order {order} was supposed to arrive on Monday and it's still not here",
        "received the wrong item in order {order}, what do I do?",
        "I returned order {order} two weeks ago and still no refund",
        "the jacket I bought arrived damaged, can I get a replacement?",
        "can't apply my discount code at checkout, it says invalid",
        "where is my parcel? tracking hasn't updated for 5 days",
        "the staff at your store were so rude to me today",
        "my account got locked after I changed my password, help",
    ),
    "streaming": (
        "the app keeps crashing on my TV every time I open it",
        "I was charged for premium but my account still shows the free plan",
        "can't log in on my phone, it says error 403",
        "why does the video keep buffering? my internet is fine",
        "episode 4 of the new season is missing, is that a bug?",
        "how do I cancel my subscription? can't find the option",
        "downloads won't play offline anymore since the update",
        "someone hacked my account and changed my email, please help",
    ),
    "food": (
        "my order {order} never arrived but the app says delivered",
        "food arrived cold and an hour late, order {order}",
        "half my order {order} was missing, can I get a refund?",
        "the driver cancelled my order and I was still charged",
        "why can't I add a tip after delivery?",
        "my promo code isn't working at checkout",
        "order {order} has been stuck on 'preparing' for 50 minutes",
        "got someone else's order, what do I do with it?",
    ),
    "bank": (
        "my card was declined at the shop but there's money in my account",
        "I see a payment I don't recognise on my statement, is this fraud?",
        "can't log in to the app, it says my account is locked",
        "my transfer {order} still hasn't arrived after 3 days",
        "why was I charged an overdraft fee when I was in credit?",
        "how do I order a new card? mine got stolen",
        "the app keeps crashing when I try to pay someone",
        "my direct debit failed and I was charged a fee, please explain",
    ),
}

_PRAISE = (
    "just wanted to say the team were brilliant today, thank you 👏",
    "shoutout to {brand}, quickest delivery of my life",
    "honestly the best customer experience I've had all year",
    "loving the new update, looks great",
    "you lot are on fire this week 🔥",
    "big thanks to the lovely person I spoke to earlier",
    "five stars, would recommend to anyone",
    "finally a company that gets it 🙌",
)

_REPEAT_ROOT = (
    "I contacted you on {day} about this and still nothing has happened",
    "still waiting on my case from {day}, nobody got back to me",
    "this is the second time I'm asking, still no fix since {day}",
)

_DETAILS = {
    "airline": "your booking reference",
    "telecom": "your account number",
    "retail": "your order number",
    "streaming": "the email on your account",
    "food": "your order number",
    "bank": "your sort code (never your PIN)",
}

_FIXES: dict[str, tuple[str, ...]] = {
    "airline": (
        "we've rebooked you on the next flight out, the new boarding pass is in the app",
        "your bag has been located and will be delivered to your address tomorrow",
        "we've refunded the duplicate seat charge on booking {order}",
        "online check-in for {code} is back up now, try again in the app",
    ),
    "telecom": (
        "try restarting your phone and toggling airplane mode on and off",
        "we've reset your line from our end, it should reconnect within 10 minutes",
        "we've credited the overcharge back to account {order}",
        "the outage in your area has been fixed, a quick router restart should get you back online",
    ),
    "retail": (
        "we've refunded order {order} in full, it'll show in 3-5 days",
        "a replacement has been sent out today with tracking",
        "the discount code has been applied to your order now",
        "your parcel is with the courier and arrives tomorrow",
    ),
    "streaming": (
        "try signing out and back in, then clear the app cache",
        "your account has been upgraded to premium now",
        "a fix for the crash was released today, update the app to the latest version",
        "we've reset your password and secured the account",
    ),
    "food": (
        "we've refunded order {order} in full",
        "a credit has been added to your account for the missing items",
        "we've cancelled the charge, it'll drop off in a few days",
        "the promo code is fixed now, try it again at checkout",
    ),
    "bank": (
        "we've removed the fee and it'll show on your next statement",
        "your card has been unlocked, try the payment again",
        "the transfer has been processed and will land today",
        "a new card has been issued and arrives in 3-5 working days",
    ),
}

_EMPATHY = (
    "Sorry to hear that.",
    "We're sorry about this.",
    "Oh no, that's not the experience we want for you.",
    "We understand how frustrating this must be.",
    "Apologies for the trouble.",
    "Sorry for the hassle here.",
    "That sounds frustrating, sorry.",
    "We're really sorry about the delay.",
)
_GREETINGS = ("Hi {name},", "Hey {name}!", "Hello {name},", "Thanks for reaching out {name}.")
# Personal replies are assembled from these pools (one pick from each of a few), so that
# two of them rarely share enough three-word runs to look like a template.
_LEADS = tuple(
    f"{a} {b}."
    for a in (
        "Thanks for this,",
        "Appreciate the heads up,",
        "Cheers for the message,",
        "Good to hear from you,",
        "Thanks for bearing with us,",
        "Glad you got in touch,",
        "Thanks for flagging,",
        "Noted,",
    )
    for b in (
        "we're on it",
        "let's sort this",
        "we'll dig in",
        "let's look into it",
        "leave it with us",
        "we've got you",
        "happy to check",
        "over to us",
    )
)
# Half the personal replies go without a bridge.
_BRIDGES = (
    "Here's what we'd suggest.",
    "Good news on this one.",
    "Quick update from us.",
    "Here's where things stand.",
    "We checked just now.",
    "Had a look for you.",
    "This one's simple.",
    "Right then.",
    "Okay, so.",
    "One thing first.",
    "Here's the plan.",
    "Next step below.",
) + ("",) * 12
_CLOSERS = tuple(
    f"{a} {b}".strip()
    for a in (
        "Speak soon!",
        "Thanks for your patience.",
        "Hope that helps!",
        "Have a good one.",
        "Cheers!",
        "Take care.",
        "Enjoy your evening.",
        "All the best.",
        "Take care \U0001f499",
        "",
    )
    for b in (
        "Shout if needed.",
        "We're around.",
        "Keep us posted.",
        "Let us know!",
        "Any time.",
        "",
    )
)
_DEFLECT: dict[Channel, tuple[str, ...]] = {
    "dm": (
        "Please send us a DM with {detail} so we can check.",
        "Could you DM us {detail}?",
        "Follow us and drop us a DM with {detail}, we'll take it from there.",
        "Can you pop {detail} into a DM for us?",
        "Shoot us a DM with {detail} and we'll get on it.",
    ),
    "phone": (
        "Please give us a call on 1-800-555-0142 so we can go through it.",
        "Can you call us on 0345 600 7000 and we'll sort it?",
        "Please call our care line on 1-800-555-0199 with {detail} to hand.",
        "Give the team a ring on 0345 600 7000 and they'll take a look.",
    ),
    # Twitter shows every link in a post as a t.co link: `{link}` is one.
    "web": (
        "Please fill out the form at {link} so the team can review.",
        "You can raise a ticket on our help page: {link}",
        "Our community forum has a thread on this: {link}",
        "Please use live chat on our website and an advisor will take a look.",
    ),
    "email": (
        "Please email us at care@example.com with {detail}.",
        "Drop us an email at help@example.com with {detail} and we'll take a look.",
        "Can you forward the details to support@example.com?",
        "Please send an email to care@example.com and include {detail}.",
    ),
    "store": (
        "Please pop into your nearest store and a team member can take a look.",
        "Please visit your local branch with {detail} and they'll sort it.",
        "Please speak to the staff at the desk next time, they can fix it in person.",
        "Best to book an appointment in store so we can check it.",
    ),
}

_CLOSINGS = (
    "Glad to hear it! Have a great day.",
    "Great news, enjoy the rest of your day!",
    "Happy we could get it sorted.",
    "Brilliant, thanks for letting us know.",
)
_PRAISE_REPLIES = (
    "Thanks so much {name}, we'll pass this on to the team!",
    "Aw, this made our day {name}!",
    "Love to hear it, thanks for the shoutout!",
    "Thank you {name}, that's so kind!",
)
_CUSTOMER_SOLVED = (
    "that worked, thanks!",
    "all sorted now, thank you",
    "working again, cheers!",
    "that did the trick, appreciate it",
    "got it working, thanks so much",
)
_CUSTOMER_PERSISTS = (
    "still not working, I already tried that",
    "that didn't help, still the same problem",
    "still having the same issue 😩",
    "nope, still broken",
)
_CUSTOMER_AFTER_DEFLECT = (
    "just sent you a DM",
    "done, sent over the details",
    "I already called twice and nobody could help",
    "still waiting for a reply to my DM",
    "ok thanks",
    "why can't you just answer here?",
)
_CUSTOMER_CLOSING = ("👍", "you too!", "thanks again", "🙏", "cheers")

# Customers' posts are a core text (above) dressed the way real ones are, so they are as
# long and as varied as the real sample's: an opener, a detail with its own numbers and
# places ("been on hold for 47 minutes", "tried again at 14:35"), a closing emoji or
# "!!", and the curly apostrophe phone keyboards type. Each kind of post has its own
# details, chosen so that the post still says what its core says (a praise post stays
# free of complaint words, a "still not working" stays a problem).
_CITIES = (
    "Leeds", "Austin", "Glasgow", "Denver", "Bristol", "Toronto", "Dublin", "Phoenix",
    "Cardiff", "Seattle", "Manchester", "Atlanta", "Brighton", "Chicago", "Norwich", "Boston",
    "Leicester", "Portland", "Swansea", "Dallas", "York", "Miami", "Belfast", "Ottawa",
)  # fmt: skip
_DEVICES = (
    "iPhone", "Android", "laptop", "iPad", "Galaxy", "Pixel", "smart TV", "work phone",
    "Chromebook", "tablet", "PC", "Mac",
)  # fmt: skip
_RELATIVES = ("mum", "dad", "partner", "sister", "brother", "flatmate", "wife", "husband")
_NTH = ("second", "third", "fourth", "fifth")
_OPENERS = (
    "hey", "hi,", "hello,", "so", "ok so", "ugh", "seriously", "morning,", "right,", "um",
)  # fmt: skip
_ROOT_DETAILS = (
    "been on hold for {minutes} minutes already",
    "this is the {nth} time this month",
    "I've been a customer for {years} years",
    "tried again at {clock} and same thing",
    "I'm in {city} if that matters",
    "using the app on my {device}",
    "it's been {days} days now",
    "nobody has replied to my email from {weekday}",
    "my {relative} has the same problem",
    "spent {minutes} mins on live chat getting nowhere",
    "first time in {years} years this has happened",
    "I need this sorted before {weekday}",
    "called at {clock} and got cut off",
    "same on my {device} and my {relative}'s",
)
_PRAISE_DETAILS = (
    "{name} at the {city} branch was amazing",
    "shout out to {name} on your team",
    "been with you {years} years, love it",
    "sorted in {minutes} minutes flat",
    "my {relative} says the same",
    "made my {weekday}",
    "and on my {device} it looks so good",
    "so glad I switched",
)
_SOLVED_DETAILS = (
    "took {minutes} mins but all good",
    "back up and running on my {device}",
    "really appreciate the quick reply",
    "you guys are great",
    "my {relative} is happy too",
    "{name} you're a star",
)
_PERSISTS_DETAILS = (
    "tried it {n} times now",
    "restarted my {device} twice",
    "this is day {days}",
    "same error at {clock}",
    "still the same here in {city}",
    "my {relative} has the same thing",
)
_AFTER_DEFLECT_DETAILS = (
    "at {clock}",
    "from my {device}",
    "hope someone picks it up today",
    "{minutes} mins ago",
    "on {weekday}",
    "sent it from my {device} at {clock}",
    "it's under my {relative}'s name",
    "my reference ends in {n}{n}",
)
_CLOSING_DETAILS = (
    "have a great {weekday}",
    "speak soon",
    "all the best from {city}",
    "will do",
    "my {relative} says hi",
)
_UPSET_TAILS = ("😡", "🙄", "😩", "!!", "!!!", "...", "#fail", "smh", "lol", "??", "#notimpressed")
_HAPPY_TAILS = ("!", "x", ":)", "😊", "🙌", "!!", "xx")
# After being sent to a DM or a phone line: a tail that adds no feeling either way.
_NEUTRAL_TAILS = ("👍", "🙂", "...", "x", "!", "📩")
# Brands whose publishing tool types the curly apostrophe in every reply.
_TYPOGRAPHIC_BRANDS = frozenset({"VoltMobileCare"})
# Share of customers whose keyboard types the curly apostrophe (’) for the straight one.
_CURLY_SHARE = 0.3
_JOINERS = (", ", ". ", " - ", "! ", " ... ")
_CUSTOMER_DETAILS = {
    "problem": _ROOT_DETAILS,
    "praise": _PRAISE_DETAILS,
    "solved": _SOLVED_DETAILS,
    "persists": _PERSISTS_DETAILS,
    "after_deflect": _AFTER_DEFLECT_DETAILS,
    "closing": _CLOSING_DETAILS,
}


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate` wrote."""

    path: Path
    posts: int
    conversations: int
    seconds: float


def generate(
    path: Path, *, posts: int, seed: int = 0, batch_conversations: int = 50_000
) -> GenerateSummary:
    """Write exactly `posts` synthetic TWCS posts to `path`; the same seed gives the same bytes."""
    if posts < 1:
        raise ValueError(f"posts must be at least 1, not {posts}")
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        conversations = write_posts(
            f, posts=posts, seed=seed, batch_conversations=batch_conversations
        )
    return GenerateSummary(path, posts, conversations, time.perf_counter() - started)


def write_posts(out: TextIO, *, posts: int, seed: int, batch_conversations: int = 50_000) -> int:
    """Write the header and `posts` posts to `out`; return the number of conversations."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(seed))
    rng = np.random.default_rng(seed)
    state = _State(remaining=posts)
    while state.remaining > 0:
        batch = _draw_batch(rng, batch_conversations, state)
        writer.writerows(_rows(batch, state))
    return state.conversations


@dataclass
class _State:
    """Counters carried from batch to batch."""

    remaining: int
    next_tweet_id: int = 1
    next_customer: int = _FIRST_CUSTOMER_ID
    conversations: int = 0


@dataclass(frozen=True)
class _Batch:
    """One batch of conversations as arrays (rows: conversations, columns: turns)."""

    brand: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    praise: npt.NDArray[np.bool_]
    repeat: npt.NDArray[np.bool_]
    customer: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    picks: npt.NDArray[np.int64]  # (n, turns, 8) random ints for text choices
    chances: npt.NDArray[np.float64]  # (n, turns, 4) uniforms for text decisions


_OFFSETS = np.array([p.utc_offset_hours * 3600 for p in PERSONAS], dtype=np.int64)
_REPLY_SECONDS = np.array([p.reply_minutes * 60 for p in PERSONAS])
_REPEAT = np.array([p.repeat_share for p in PERSONAS])
_WEIGHTS = np.array([p.weight for p in PERSONAS]) / sum(p.weight for p in PERSONAS)
_LENGTHS = np.array(list(_LENGTH_PMF))
_LENGTH_P = np.array(list(_LENGTH_PMF.values())) / sum(_LENGTH_PMF.values())


def _draw_batch(rng: np.random.Generator, n: int, state: _State) -> _Batch:
    """Draw brands, lengths, customers and every post time of `n` conversations."""
    brand = rng.choice(len(PERSONAS), n, p=_WEIGHTS)
    length = rng.choice(_LENGTHS, n, p=_LENGTH_P)
    praise = rng.random(n) < _PRAISE_SHARE
    # Praise and banter rarely go beyond a thank-you and a closing emoji.
    length = np.where(praise, np.minimum(length, 3), length)
    day = rng.integers(0, _DAYS, n)
    hour = rng.choice(24, n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    root = _START + day * 86400 + hour * 3600 + rng.integers(0, 3600, n) - _OFFSETS[brand]
    repeat = rng.random(n) < _REPEAT[np.roll(brand, 1)]
    repeat[0] = False
    back_after = rng.integers(86400, 6 * 86400, n)
    customer = state.next_customer + np.cumsum(~repeat) - 1
    state.next_customer = int(customer[-1]) + 1
    # A repeat contact is the previous conversation's customer writing to the same brand
    # again days later (chains follow on, so each step reads the value just set).
    for i in np.flatnonzero(repeat):
        brand[i] = brand[i - 1]
        customer[i] = customer[i - 1]
        root[i] = root[i - 1] + back_after[i]
    praise &= ~repeat

    times = np.zeros((n, _MAX_LEN), dtype=np.int64)
    times[:, 0] = root
    z = rng.standard_normal((n, _MAX_LEN))
    for k in range(1, _MAX_LEN):
        before = times[:, k - 1]
        if k % 2:  # brand turn
            base = _REPLY_SECONDS[brand] * (1.0 if k == 1 else _LATER_REPLY_FACTOR)
            delay = base * np.exp(_REPLY_SIGMA * z[:, k]) * _slowdown(before, brand)
        else:
            delay = _CUSTOMER_REPLY_SECONDS * np.exp(1.2 * z[:, k])
        times[:, k] = before + np.maximum(delay, 5).astype(np.int64)
    picks = rng.integers(0, _PICK_RANGE, (n, _MAX_LEN, 8))
    chances = rng.random((n, _MAX_LEN, 4))
    return _Batch(brand, length, praise, repeat, customer, times, picks, chances)


def _slowdown(utc_seconds: npt.NDArray[np.int64], brand: npt.NDArray[np.int64]) -> npt.NDArray:
    """How many times slower a brand answers a post written at `utc_seconds` (local time)."""
    local = utc_seconds + _OFFSETS[brand]
    hour = (local // 3600) % 24
    weekday = (local // 86400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekend = weekday >= 5
    office = ~weekend & (hour >= 9) & (hour < 18)
    return np.where(office, 1.0, _OUT_OF_HOURS_FACTOR) * np.where(weekend, _WEEKEND_FACTOR, 1.0)


def _rows(batch: _Batch, state: _State) -> Iterator[tuple[str, ...]]:
    """The CSV rows of a batch, stopping once the file holds the posts asked for."""
    for i in range(len(batch.brand)):
        if state.remaining <= 0:
            return
        length = min(int(batch.length[i]), state.remaining)
        persona = PERSONAS[int(batch.brand[i])]
        texts = _conversation_texts(persona, batch, i, length)
        first = state.next_tweet_id
        customer = str(int(batch.customer[i]))
        for k in range(length):
            tweet_id = first + k
            brand_turn = k % 2 == 1
            yield (
                str(tweet_id),
                persona.handle if brand_turn else customer,
                "False" if brand_turn else "True",
                _twitter_date(int(batch.times[i, k])),
                texts[k],
                str(tweet_id + 1) if k + 1 < length else "",
                f"{tweet_id - 1}.0" if k else "",
                "",
            )
        state.next_tweet_id += length
        state.remaining -= length
        state.conversations += 1


def _twitter_date(seconds: int) -> str:
    t = time.gmtime(seconds)
    return (
        f"{_WEEKDAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000 {t.tm_year}"
    )


def _conversation_texts(persona: Persona, batch: _Batch, i: int, length: int) -> list[str]:
    """The texts of one conversation's turns, each reply following from the turn before."""
    picks = batch.picks[i]
    chances = batch.chances[i]
    name = _FIRST_NAMES[int(picks[0, 5]) % len(_FIRST_NAMES)]
    order = str(100000 + int(picks[0, 4]) % 900000)
    code = f"{persona.handle[:2].upper()}{100 + int(picks[0, 3]) % 900}"
    fills = {"order": order, "code": code, "detail": _DETAILS[persona.industry], "name": name}
    customer_at = f"@{persona.handle} "
    brand_at = f"@{int(batch.customer[i])} "
    agent = _agent(persona, int(picks[0, 2]))

    # One keyboard per customer: the curly apostrophe in all of their posts or in none.
    curly = bool(chances[0, 0] < _CURLY_SHARE)
    if batch.praise[i]:
        root = _PRAISE[int(picks[0, 0]) % len(_PRAISE)].format(brand=persona.handle)
    elif batch.repeat[i]:
        day = _WEEKDAYS[int(picks[0, 0]) % 5]
        root = _REPEAT_ROOT[int(picks[0, 1]) % len(_REPEAT_ROOT)].format(day=day)
    else:
        roots = _ROOTS[persona.industry]
        root = roots[int(picks[0, 0]) % len(roots)].format(**fills)
    kind = "praise" if batch.praise[i] else "problem"
    root_at = customer_at
    if chances[0, 3] > 1.0 - _SECOND_HANDLE_SHARE:
        friend = _FIRST_NAMES[int(picks[0, 1]) % len(_FIRST_NAMES)].lower()
        root_at += f"@{friend}_{int(picks[0, 1]) // 64 % 1000} "
    texts = [root_at + _customer_post(kind, root, picks[0], chances[0], curly)]
    last = "praise" if batch.praise[i] else "problem"
    for k in range(1, length):
        p, c = picks[k], chances[k]
        if k % 2:  # brand
            # A brand turn leaves p[6] and p[7] to this: its link and whether it has one.
            link = f"https://t.co/{_link_id(int(p[6]) << 30 | int(p[7]))}"
            if last == "praise":
                body = _reply(persona, _PRAISE_REPLIES, p, c, fills, first=False)
                last = "closed"
            elif last in ("solved", "closed"):
                body, last = _reply(persona, _CLOSINGS, p, c, fills, first=False), "closed"
            elif c[0] < persona.deflect_share:
                channel = persona.channels[0 if c[1] < 0.8 else 1]
                body = _reply(
                    persona, _DEFLECT[channel], p, c, fills | {"link": link}, first=k == 1
                )
                if channel == "dm" and p[7] < _DM_LINK_CHANCE * _PICK_RANGE:
                    body = f"{body} {link}"  # the button that opens a DM with the brand
                last = "deflected"
            else:
                body = _reply(persona, _FIXES[persona.industry], p, c, fills, first=k == 1)
                if p[7] < _FIX_LINK_CHANCE * _PICK_RANGE:
                    body = f"{body} {link}"  # a help article with the steps
                last = "fixed"
            if persona.handle in _TYPOGRAPHIC_BRANDS:
                body = body.replace("'", "\u2019")
            texts.append(brand_at + _sign(body, agent))
        else:  # customer
            if last == "closed":
                body = _customer_post("closing", _pick(_CUSTOMER_CLOSING, p[0]), p, c, curly)
            elif last == "fixed" and c[0] < persona.public_fix_share:
                body = _customer_post("solved", _pick(_CUSTOMER_SOLVED, p[0]), p, c, curly)
                last = "solved"
            elif last == "fixed":
                body = _customer_post("persists", _pick(_CUSTOMER_PERSISTS, p[0]), p, c, curly)
                last = "problem"
            else:
                core = _pick(_CUSTOMER_AFTER_DEFLECT, p[0])
                body, last = _customer_post("after_deflect", core, p, c, curly), "problem"
            texts.append(customer_at + body)
    return texts


def _pick(options: tuple[str, ...], pick: np.int64) -> str:
    return options[int(pick) % len(options)]


# How likely a post of each kind gets a detail, an opener (problems only) and a tail.
_DETAIL_CHANCE = {
    "problem": 0.9,
    "praise": 0.7,
    "solved": 0.7,
    "persists": 0.8,
    "after_deflect": 0.6,
    "closing": 0.5,
}
# A problem that got a detail gets a second one this often.
_SECOND_DETAIL_CHANCE = 0.45
_OPENER_CHANCE = 0.3
_TAIL_CHANCE = {
    "problem": 0.3,
    "praise": 0.4,
    "solved": 0.3,
    "persists": 0.35,
    "after_deflect": 0.15,
}
# How often a brand's DM request carries the link that opens the DM, and a fix a link
# to a help article (web deflections always link to the form or page they name). With
# these, 30% of brand replies have a link, as in the real samples (27-34%).
_DM_LINK_CHANCE = 0.8
_FIX_LINK_CHANCE = 0.3
# How often a problem carries a link (a screenshot, a photo of the parcel).
_LINK_CHANCE = {"problem": 0.25, "persists": 0.2, "praise": 0.1}
_LINK_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_MASK64 = (1 << 64) - 1
# Share of customers who tag someone else in their first post (a friend, a partner).
_SECOND_HANDLE_SHARE = 0.3


def _mix64(value: int) -> int:
    """SplitMix64's finaliser: 64 well-spread bits from any 64-bit value."""
    value &= _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _link_id(seed: int) -> str:
    """Ten letters and digits for a t.co link, spread from a random value."""
    value = _mix64(seed)
    chars = []
    for _ in range(10):
        value, digit = divmod(value, len(_LINK_CHARS))
        chars.append(_LINK_CHARS[digit])
    return "".join(chars)


def _customer_post(
    kind: str,
    core: str,
    p: npt.NDArray[np.int64],
    c: npt.NDArray[np.float64],
    curly: bool,
) -> str:
    """`core` dressed as a customer's post of `kind` (see `_CUSTOMER_DETAILS`).

    Reads p[6], p[7] (60 random bits, spread into two 64-bit streams: the numbers and
    places of the details, and which detail, joiner, opener and tail) and c[1..3]
    (whether to add a detail; a link or a tail; an opener); p[0..5] and c[0] are left
    to the caller.
    """
    seed = int(p[6]) << 30 | int(p[7])
    streams = {"fills": _mix64(seed), "choices": _mix64(seed + 1)}

    def take(base: int, stream: str = "choices") -> int:
        streams[stream], value = divmod(streams[stream], base)
        return value

    def fill(base: int) -> int:
        return take(base, "fills")

    numbers = {
        "minutes": 5 + fill(176),
        "clock": f"{fill(24):02d}:{fill(60):02d}",
        "days": 2 + fill(13),
        "years": 2 + fill(19),
        "n": 3 + fill(8),
        "nth": _NTH[fill(len(_NTH))],
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")[fill(5)],
        "city": _CITIES[fill(len(_CITIES))],
        "device": _DEVICES[fill(len(_DEVICES))],
        "relative": _RELATIVES[fill(len(_RELATIVES))],
        "name": _AGENT_NAMES[fill(len(_AGENT_NAMES))],
    }
    text = core
    details = _CUSTOMER_DETAILS.get(kind, ())
    if details and c[1] < _DETAIL_CHANCE[kind]:
        detail = details[take(len(details))].format(**numbers)
        joiner = " " if text.endswith(("?", "!", ".")) else _JOINERS[take(len(_JOINERS))]
        text = f"{text}{joiner}{detail}"
        if kind == "problem" and c[1] < _DETAIL_CHANCE[kind] * _SECOND_DETAIL_CHANCE:
            second = details[take(len(details))].format(**numbers)
            if second != detail:
                text = f"{text}{_JOINERS[take(len(_JOINERS))]}{second}"
    if kind in _LINK_CHANCE and c[2] > 1.0 - _LINK_CHANCE[kind]:
        text = f"{text} https://t.co/{_link_id(seed + 2)}"
    if kind == "problem" and c[3] < _OPENER_CHANCE:
        text = f"{_OPENERS[take(len(_OPENERS))]} {text}"
    if kind in _TAIL_CHANCE and c[2] < _TAIL_CHANCE[kind]:
        tails = {
            "praise": _HAPPY_TAILS,
            "solved": _HAPPY_TAILS,
            "after_deflect": _NEUTRAL_TAILS,
        }.get(kind, _UPSET_TAILS)
        text = f"{text} {tails[take(len(tails))]}"
    return text.replace("'", "\u2019") if curly else text


def _agent(persona: Persona, pick: int) -> str:
    """The sign-off of the agent who answers a conversation, or '' for unsigned brands."""
    if persona.signs is None:
        return ""
    name = _AGENT_NAMES[pick % len(_AGENT_NAMES)]
    if persona.signs == "dash":
        return f"-{name}"
    return f"^{name[0]}{'ABCDEFGHJKLMNPRSTW'[pick // 16 % 18]}"


def _sign(body: str, agent: str) -> str:
    return f"{body} {agent}" if agent else body


def _sentence(text: str) -> str:
    """`text` with a capital first letter and a full stop unless it ends in one."""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _reply(
    persona: Persona,
    cores: tuple[str, ...],
    p: npt.NDArray[np.int64],
    c: npt.NDArray[np.float64],
    fills: dict[str, str],
    *,
    first: bool,
) -> str:
    """A templated reply (one of the brand's few fixed texts) or one assembled from phrases."""
    templated = c[2] < persona.templated_share
    # Each brand owns the same two templates per core text: an apology and a thanks.
    core = cores[int(p[1]) % 2] if templated else _pick(cores, p[1])
    core = _sentence(core.format(**fills))
    if templated:
        if int(p[2]) % 2 and persona.empathy_share >= 0.5:
            return f"Hi {fills['name']}, we're sorry for the trouble. {core} We're here to help."
        return f"Hi {fills['name']}, thanks for getting in touch with us today. {core}"
    parts = []
    if int(p[3]) % 3:
        parts.append(_pick(_GREETINGS, p[3] // 3).format(name=fills["name"]))
    if first and c[3] < persona.empathy_share:
        parts.append(_pick(_EMPATHY, p[4]))
    parts.append(_pick(_LEADS, p[4] // 8))
    parts.append(_pick(_BRIDGES, p[0]))
    parts.append(core)
    parts.append(_pick(_CLOSERS, p[5]))
    return " ".join(part for part in parts if part)
