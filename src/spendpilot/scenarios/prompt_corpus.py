"""Generated user prompts with a known share of paraphrased repeats, for tests, evals and benchmarks.

A semantic cache pays off when users ask *the same thing* in different words. To measure how well
spendpilot estimates that share, this module writes prompts the way users type them: a set of
intents (order status, "explain X", translations, trip packing lists...), each with several
hand-written paraphrase templates that change the wording, the synonyms and the order of the
parts ("Where is order 48213?" / "I haven't received order 48213 yet, can you check on it?").
A *meaning* is one intent with its slot values filled in; a prompt is one meaning rendered by one
template, with the greetings and sign-offs people add.

``planted_share`` = (prompts - distinct meanings) / prompts: the share a perfect semantic cache
would serve, the number the estimate is compared with.

The trap is built in: every intent is a template that many different questions share (the same
sentence with a different city, dish or product), and those are *not* duplicates. The generator
is deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

_CONCEPTS = [
    "recursion", "compound interest", "photosynthesis", "inflation", "a hash table", "machine learning",
    "the greenhouse effect", "supply and demand", "a neural network", "blockchain", "vaccination",
    "the stock market", "gravity", "plate tectonics", "a mortgage", "public key cryptography",
    "the immune system", "an index fund", "quantum entanglement", "a black hole", "DNS", "a database index",
    "object-oriented programming", "the water cycle", "opportunity cost", "a credit score", "evolution",
    "the electoral college", "a virtual machine", "containerization", "the placebo effect", "a recession",
    "cloud computing", "the Pythagorean theorem", "climate change", "an API", "garbage collection",
    "a bond yield", "nuclear fusion", "the scientific method", "a load balancer", "dark matter",
    "a sourdough starter", "the Doppler effect", "a capital gains tax", "caching", "a stock split",
    "the Fibonacci sequence", "entropy", "a mutual fund", "continental drift", "a REST endpoint",
    "the circadian rhythm", "an operating system kernel", "a limited liability company", "osmosis",
    "the big bang", "a firewall", "carbon offsets", "a Roth IRA",
]
_PHRASES = [
    "good morning", "where is the train station", "thank you very much", "I would like a coffee",
    "how much does this cost", "the meeting is postponed", "happy birthday", "I am allergic to nuts",
    "please call me back", "the invoice is attached", "see you tomorrow", "I lost my passport",
    "the store opens at nine", "can you help me", "welcome to our hotel", "the package has shipped",
    "I need a doctor", "what time is it", "my flight was cancelled", "we are closed on Sundays",
    "good night", "the room is ready", "I don't understand", "nice to meet you", "the bill, please",
    "turn left at the corner", "is breakfast included", "where can I buy a ticket", "I am running late",
    "congratulations on your promotion",
]
_LANGUAGES = ["French", "Spanish", "German", "Italian", "Japanese", "Portuguese", "Dutch", "Korean", "Polish", "Turkish"]
_DISHES = [
    "lasagna", "chicken curry", "banana bread", "pad thai", "vegetable soup", "beef stew", "pancakes",
    "guacamole", "risotto", "apple pie", "falafel", "fried rice", "tomato sauce", "chocolate chip cookies",
    "shakshuka", "ramen", "carrot cake", "chili con carne", "quiche", "lentil dal", "fish tacos",
    "mushroom stroganoff", "lemon tart", "paella", "hummus", "french onion soup", "tiramisu", "gnocchi",
    "pulled pork", "granola",
]
_TASKS = {
    "git": ["undo the last commit", "rename a branch", "delete a remote branch", "squash commits",
            "stash changes", "see the history of one file", "resolve a merge conflict", "change the last commit message",
            "list all tags", "revert a pushed commit"],
    "Excel": ["remove duplicate rows", "make a pivot table", "freeze the top row", "split a column by comma",
              "count cells that are not empty", "add a dropdown list", "convert text to dates", "sum a column by category",
              "highlight cells above a value", "protect a sheet"],
    "Python": ["read a CSV file", "sort a dictionary by value", "reverse a string", "parse JSON",
               "remove duplicates from a list", "read a file line by line", "merge two dictionaries",
               "get the current date", "make an HTTP request", "write unit tests"],
    "Linux": ["find large files", "kill a process by name", "change file permissions", "check disk space",
              "schedule a cron job", "see open ports", "extract a tar.gz file", "add a user",
              "follow a log file", "find which process uses a port"],
}
_PAIRS = [
    ("a virus", "a bacterium"), ("weather", "climate"), ("TCP", "UDP"), ("a Roth IRA", "a traditional IRA"),
    ("affect", "effect"), ("a crocodile", "an alligator"), ("baking soda", "baking powder"),
    ("RAM", "storage"), ("a latte", "a cappuccino"), ("stocks", "bonds"), ("a psychologist", "a psychiatrist"),
    ("SQL", "NoSQL"), ("a hurricane", "a tornado"), ("speed", "velocity"), ("a loan", "a line of credit"),
    ("a lake", "a pond"), ("HTTP", "HTTPS"), ("a fruit", "a vegetable"), ("a debit card", "a credit card"),
    ("an LLC", "a corporation"), ("Java", "JavaScript"), ("a moth", "a butterfly"), ("mitosis", "meiosis"),
    ("a process", "a thread"), ("an asteroid", "a comet"),
]
_DOCS = ["quarterly earnings report", "annual sustainability report", "latest press release",
         "employee handbook", "privacy policy", "product roadmap", "board meeting minutes", "security audit"]
_COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Industries", "Wayne Enterprises",
              "Hooli", "Vandelay Imports", "Soylent Foods", "Tyrell Systems", "Cyberdyne", "Wonka Industries",
              "Pied Piper", "Massive Dynamic", "Oscorp", "Gringotts Bank", "Monarch Solutions", "Aperture Labs",
              "Blue Sun", "Dunder Mifflin", "Prestige Worldwide", "Nakatomi Trading", "Virtucon", "Gekko & Co",
              "Sirius Cybernetics", "Krusty Krab", "Bluth Company", "Sterling Cooper", "Oceanic Airlines", "Weyland Corp"]
_PRODUCTS = ["Slack", "Zoom", "Dropbox", "Spotify", "Netflix", "Gmail", "Outlook", "Instagram", "LinkedIn",
             "GitHub", "Notion", "Trello", "Figma", "Canva", "PayPal", "Venmo", "Uber", "Airbnb", "Duolingo",
             "Strava", "Evernote", "Asana", "Jira", "Salesforce", "Shopify"]
_CITIES = ["Paris", "Tokyo", "Reykjavik", "Cairo", "Sydney", "Toronto", "Lisbon", "Bangkok", "Oslo", "Lima",
           "Nairobi", "Denver", "Dublin", "Seoul", "Marrakesh", "Vienna", "Havana", "Cape Town", "Hanoi",
           "Edinburgh", "Istanbul", "Vancouver", "Buenos Aires", "Mumbai", "Helsinki", "Prague", "Bali", "Chicago",
           "Rome", "Montreal"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_COLORS = ["red", "navy", "green", "black", "mustard", "grey", "white", "pink"]
_MATERIALS = ["wool", "leather", "cotton", "linen", "silk", "canvas"]
_ITEMS = ["scarf", "wallet", "backpack", "jacket", "tote bag", "beanie", "apron", "belt", "notebook cover", "pillowcase"]
_ACCOUNT_ISSUES = {
    "reset": [
        "How do I reset my {product} password?",
        "I forgot my {product} password, how can I set a new one?",
        "What's the way to change a forgotten password on {product}?",
        "Can't log in to {product} because I don't remember my password. How do I recover it?",
        "Steps to recover my password for {product}?",
    ],
    "delete": [
        "How do I delete my {product} account?",
        "I want to permanently close my {product} account, how?",
        "What are the steps to remove my account from {product} for good?",
        "Can you tell me how to get rid of my {product} account?",
        "How can I deactivate and erase my {product} profile permanently?",
    ],
    "2fa": [
        "How do I turn on two-factor authentication in {product}?",
        "How can I enable 2FA on my {product} account?",
        "What are the steps to set up two-step verification for {product}?",
        "I'd like to add two-factor login to {product}. How?",
        "Enable two factor auth on {product}: how do I do it?",
    ],
    "email": [
        "How do I change the email address on my {product} account?",
        "I need to update the email my {product} account uses. How?",
        "What's the way to switch my {product} login email to a new address?",
        "Can I replace the email address linked to {product}, and how?",
        "Steps to update my account email in {product}?",
    ],
}


@dataclass(frozen=True)
class Intent:
    name: str
    templates: tuple[str, ...]
    slots: tuple[tuple[str, ...], ...]
    """Every slot's possible values; a meaning is one value per slot (or a number, see ``numbered``)."""
    numbered: bool = False
    """True: the meaning is a fresh 5-digit number (order or ticket ids), unlimited."""


def _intents() -> list[Intent]:
    intents = [
        Intent("order_status", (
            "Where is my order {0}?",
            "Can you tell me the status of order {0}?",
            "I haven't received order {0} yet, can you check on it?",
            "Track order number {0} for me please",
            "What's happening with my order {0}? It hasn't arrived.",
            "Has order {0} shipped yet?",
        ), (), numbered=True),
        Intent("charged_twice", (
            "Why was I charged twice on invoice INV-{0}?",
            "Invoice INV-{0} shows a double charge, can you explain?",
            "I see two payments for invoice INV-{0}. Why did you bill me twice?",
            "There's a duplicate charge on INV-{0}, what happened?",
            "My card was billed two times for INV-{0}. Please explain.",
        ), (), numbered=True),
        Intent("explain", (
            "Explain {0} in simple terms.",
            "Can you give me a simple explanation of {0}?",
            "What is {0}? Keep it easy to understand.",
            "I don't get {0}. Could you explain it plainly?",
            "Describe {0} for a beginner, please.",
            "In plain language, what does {0} mean?",
        ), (tuple(_CONCEPTS),)),
        Intent("translate", (
            "Translate '{0}' into {1}.",
            "How do you say '{0}' in {1}?",
            "What is '{0}' in {1}?",
            "Can you translate '{0}' to {1} for me?",
            "In {1}, how would I say '{0}'?",
        ), (tuple(_PHRASES), tuple(_LANGUAGES))),
        Intent("recipe", (
            "Give me a recipe for {0}.",
            "How do I make {0} at home?",
            "What's a good recipe for {0}?",
            "I want to cook {0} tonight. How do I make it?",
            "Share an easy {0} recipe, please.",
            "Steps to prepare {0}?",
        ), (tuple(_DISHES),)),
        Intent("howto", (
            "How do I {0} in {1}?",
            "In {1}, how can I {0}?",
            "What's the command or way to {0} in {1}?",
            "I need to {0} using {1}. How?",
            "Show me how to {0} with {1}.",
        ), (tuple(f"{t}|{tool}" for tool, ts in _TASKS.items() for t in ts),)),
        Intent("difference", (
            "What is the difference between {0} and {1}?",
            "How does {0} differ from {1}?",
            "{0} vs {1}: what's the difference?",
            "Can you explain how {0} and {1} are different?",
            "What distinguishes {0} from {1}?",
        ), (tuple(f"{a}|{b}" for a, b in _PAIRS),)),
        Intent("summarize", (
            "Summarize the {0} of {1}.",
            "Give me a short summary of {1}'s {0}.",
            "Can you sum up the {0} from {1}?",
            "What are the key points of the {0} published by {1}?",
            "TL;DR of {1}'s {0}, please.",
        ), (tuple(_DOCS), tuple(_COMPANIES))),
        Intent("packing", (
            "What should I pack for a trip to {0} in {1}?",
            "I'm going to {0} in {1}. What clothes should I bring?",
            "Packing list for {0} in {1}?",
            "Traveling to {0} this {1}, what do I need to pack?",
            "What to bring on a {1} visit to {0}?",
        ), (tuple(_CITIES), tuple(_MONTHS))),
        Intent("product_copy", (
            "Write a product description for a {0} {1} {2}.",
            "Create a short description for our {0} {1} {2}.",
            "I need marketing copy for a {0} {1} {2}.",
            "Draft a product blurb for a {1} {2} in {0}.",
            "Describe our new {0} {1} {2} for the online shop.",
        ), (tuple(_COLORS), tuple(_MATERIALS), tuple(_ITEMS))),
    ]
    for issue, templates in _ACCOUNT_ISSUES.items():
        intents.append(Intent(f"account_{issue}", tuple(t.replace("{product}", "{0}") for t in templates), (tuple(_PRODUCTS),)))
    return intents


_OPENERS = ("", "", "", "Hi! ", "Hello, ", "Hey, ", "Quick question: ", "Please help: ", "Hi there. ")
_CLOSERS = ("", "", "", " Thanks!", " Thank you.", " Thanks in advance.", " Cheers")


@dataclass
class PromptCorpus:
    prompts: list[str]
    meanings: list[int]
    """The meaning id of each prompt: equal ids = the same question."""
    intents: list[str] = field(default_factory=list)

    @property
    def planted_duplicates(self) -> int:
        return len(self.prompts) - len(set(self.meanings))

    @property
    def planted_share(self) -> float:
        return self.planted_duplicates / len(self.prompts) if self.prompts else 0.0


def _fill(template: str, values: tuple[str, ...]) -> str:
    parts: list[str] = []
    for v in values:
        parts.extend(v.split("|"))
    text = template.format(*parts)
    return text[0].upper() + text[1:]


def _decorate(text: str, rng: random.Random) -> str:
    opener, closer = rng.choice(_OPENERS), rng.choice(_CLOSERS)
    if opener and rng.random() < 0.5:
        text = text[0].lower() + text[1:]
    if rng.random() < 0.15:
        text = text.rstrip("?.!")
    return f"{opener}{text}{closer}"


def generate_prompts(count: int, duplicate_share: float, *, seed: int = 0,
                     intents: list[str] | None = None) -> PromptCorpus:
    """``count`` prompts of which ``round(count * duplicate_share)`` repeat an earlier meaning.

    Repeats pick a meaning with a skew (a few questions are asked often, as in real support
    traffic) and a template different from the meaning's first rendering when there is one, so
    most repeats are paraphrases rather than copies. ``intents`` limits which intents are used.
    """
    if not 0.0 <= duplicate_share < 1.0:
        raise ValueError("duplicate_share must be in [0, 1)")
    rng = random.Random(seed)
    pool = [i for i in _intents() if intents is None or i.name in intents]
    if not pool:
        raise ValueError(f"no intent among {intents}")
    distinct = count - round(count * duplicate_share)
    meanings: list[tuple[Intent, tuple[str, ...], int]] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    numbers = rng.sample(range(10_000, 99_999), k=min(distinct * 2, 89_000))
    attempts = 0
    while len(meanings) < distinct:
        attempts += 1
        if attempts > distinct * 50:
            raise ValueError(f"cannot make {distinct} distinct meanings from intents {[i.name for i in pool]}")
        intent = rng.choice(pool)
        values = (str(numbers.pop()),) if intent.numbered else tuple(rng.choice(s) for s in intent.slots)
        if (intent.name, values) in seen:
            continue
        seen.add((intent.name, values))
        meanings.append((intent, values, rng.randrange(len(intent.templates))))
    rows: list[tuple[str, int, str]] = []
    for mid, (intent, values, first) in enumerate(meanings):
        rows.append((_decorate(_fill(intent.templates[first], values), rng), mid, intent.name))
    weights = [1.0 / (1 + r) ** 0.6 for r in range(distinct)]
    for mid in rng.choices(range(distinct), weights=weights, k=count - distinct):
        intent, values, first = meanings[mid]
        others = [t for t in range(len(intent.templates)) if t != first] or [first]
        rows.append((_decorate(_fill(intent.templates[rng.choice(others)], values), rng), mid, intent.name))
    rng.shuffle(rows)
    return PromptCorpus([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
