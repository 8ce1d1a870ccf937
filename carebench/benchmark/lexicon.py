"""Every phrase list and threshold the signals use, in one place a consultant can review.

Patterns are case-insensitive regular expressions unless marked otherwise. Each list
says what it is for; change a list here and every figure that uses it follows.
"""

from __future__ import annotations

# An agent's sign-off at the end of a brand reply: `^AB`, `-Becky`, `*JS`, `/CG`, `~Sam`,
# possibly followed by a link. Case-sensitive on purpose: initials are capitals.
# Group 1 is the agent's signature.
SIGNOFF_PATTERN = (
    r"(?:^|\s)[\^\-–—~*/]\s?([A-Z][a-z]{1,14}|[A-Z]{1,3}\d?)"
    r"\s*(?:https?://\S+\s*)*$"
)

# ---------------------------------------------------------------------------------------
# Phrase lists for `text_signals`.
#
# How an entry is matched (see `text_signals.phrase_regex`):
# - against the post lower-cased, with curly quotes straightened, `&amp;` decoded,
#   whitespace collapsed and the leading reply @handles removed;
# - links, e-mail addresses, other @handles and phone numbers are replaced by the tokens
#   `<link>`, `<email>`, `<handle>` and `<phone>`, so an entry can say "here: <link>";
# - as whole words: "dm" does not match inside "admin";
# - an apostrophe is optional ("can't" also matches "cant"), and a trailing `*` on a
#   word means any ending ("apolog*" matches apologise, apologies, apologize).
# Entries may use small regular-expression pieces: `(?:a|b)` for alternatives, `?` for
# an optional piece, `[0-9]` for a digit. Avoid `\b`, `\s`, `\w`, `\d` and look-arounds:
# they force Python's slower regex engine on millions of posts.
# ---------------------------------------------------------------------------------------

# A phone number, masked as `<phone>` before matching. North-American (1-800-379-6453,
# (800) 555-1234, 1866-504-7368), international (+44 (0) 2076604452, +66 2 515 9999),
# UK (0345 600 7000) and Indian toll-free (1800 180 1407). Runs of digits that are not
# laid out like a phone number (order numbers, dates) are left alone.
# Every pattern holds three digits in a row or a `+` and a digit: `text_signals` looks
# for phone numbers only in texts with one of those (`PHONE_NUMBER_HINT`).
PHONE_NUMBER_HINT = "[0-9]{3}|[+][0-9]"
PHONE_NUMBER_PATTERNS: tuple[str, ...] = (
    r"(?:1[ .-]?)?\(?[2-9][0-9]{2}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}",
    r"1[ -]?8[0-9]{2}[ -][a-z][a-z-]{5,}",  # vanity numbers: 1-800-my-apple
    r"\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9][0-9 .-]{5,}[0-9]",
    r"0[1-9][0-9]{2,3} ?[0-9]{3} ?[0-9]{3,4}",
    r"1800[ -]?[0-9]{3}[ -]?[0-9]{3,4}",
)

# Deflection to direct/private messages (channel `dm`). Any mention of DMs in a brand
# post counts, including "we've received your DM": the case continues there.
DM_PHRASES: tuple[str, ...] = (
    "dm",
    "dms",
    "dm's",
    "dm'd",
    "dmed",
    "dming",
    "direct mess?age*",
    "direct messaging",
    "private message*",
    "private messaging",
    "privately",
    "(?:send|shoot|drop) (?:us|me|them) a (?:pm|message|note)",
    "(?:a|via|in|by|our|your|the) pm",
    "pm (?:us|me)",
    "inbox (?:us|me)",
    "message (?:us|me)",
    "messaged you",
    "whatsapp",
    "messenger",
)

# Deflection to a phone call (channel `phone`): call us, a phone number, a call-back.
# "calls dropping" or "make a call" (a customer's phone problem) do not count.
PHONE_PHRASES: tuple[str, ...] = (
    "<phone>",
    "call (?:us|them|him|her|our|the|your local|your bank|your carrier|and)",
    "you can (?:also )?call",
    "please call",
    "(?:give|gave) (?:us|them|you|me)? ?(?:[a-z]+ ){0,3}a (?:call|ring|bell|buzz)",
    "(?:ring|phone|telephone) (?:us|them)",
    "call ?back",
    "call-back",
    "(?:request|schedule|arrange|book) a call",
    "(?:we'll|we will|we'd like to|we can|i'll|i will|happy to) (?:call|ring|phone) you",
    "(?:by|via|over the|on the) (?:phone|telephone)",
    "phone (?:support|line|team|agent)",
    "(?:call|contact|customer care|customer service|care) (?:centre|center|line)",
    "help ?line",
    "hot ?line",
    "toll[ -]free",
    "dial",
)

# Deflection to e-mail (channel `email`): e-mail us, an address, the case continuing
# by e-mail. Asking for the customer's e-mail address (to look them up) does not count.
EMAIL_PHRASES: tuple[str, ...] = (
    "(?:forward|send|email|e-mail|write|contact|reach|mail)(?: [a-z']+){0,4}? (?:to|at|on|via)"
    "[ :]*<email>",
    "e-?mail(?: address)? ?:? ?<email>",
    "e-?mail (?:us|them|the team|our team|our)",
    "(?:send|drop|shoot|write) (?:us|them|the team|our team)? ?an e-?mail",
    "(?:via|by|through|over) e-?mail",
    "(?:sent|send|emailed|e-mailed) you (?:an|a)? ?(?:e-?mail|message)",
    "(?:have|receive|get|find|see) an e-?mail from",
    "(?:replied|respond|responded|reply) to your e-?mail",
    "e-?mail support",
    "support e-?mail",
)

# Deflection to the web (channel `web`): a form, help page, community forum, contact
# page, chat, "visit our website", "reach out here: <link>".
WEB_PHRASES: tuple[str, ...] = (
    "(?:this|the|our|a|an|online|web|contact|claim|complaint|feedback|request|refund) form",
    "e-?forms?",
    "fill (?:out|in)",
    "(?:submit|raise|open|file|log) (?:a|an) (?:request|ticket|claim|case|report|complaint)",
    "write in to",
    "(?:help|support|contact|faq|customer service) (?:page|site|center|centre|section|"
    "article|form|portal|hub|website)",
    "contact us (?:page|form|link|option|section|button)",
    "community",
    "forums?",
    "live ?chat",
    "web ?chat",
    "online chat",
    "chat (?:with|to) (?:us|an?|our|one of)",
    "(?:visit|check|browse|use) (?:our|the) (?:website|web site|site|online)",
    "(?:on|via|through) (?:our|the) (?:website|web site|site)",
    "website",
    "(?:through|via|in|use|using|log into|sign into|log in to|sign in to) online banking",
    "(?:contact|reach|message|get in touch with) (?:us|them) (?:through|via|in|on|using) "
    "(?:the|our|your) app",
    "(?:reach|contact|get in touch with|tell) (?:out |us |them |us more )?(?:to )?"
    "(?:us |them )?(?:here|at|via|using)[ :>-]*<link>",
    "(?:get|find) help (?:here|at)",
    "(?:feedback|suggestions?|ideas?) (?:here|at|via|through)",
    "let your voice be heard",
    "report (?:it|this|that|them)? ?(?:here|using|via|through)",
)

# Words that point at a link as the answer ("more info here: <link>", "this article").
# A brand post with a link that one of these words introduces (in the same sentence,
# at most 60 characters before the link) counts as `web` deflection when it gives no
# answer in public (no `FIX_DONE_PHRASES`/`FIX_STEP_PHRASES`) and names no other channel.
WEB_LINK_POINTERS: tuple[str, ...] = (
    "here",
    "link",
    "links",
    "article",
    "articles",
    "page",
    "guide",
    "(?:the|these|following|this) steps",
    "info",
    "information",
    "details",
    "resources?",
    "learn more",
    "find out more",
    "faq",
    "site",
    "click",
    "(?:this|these|that) (?:might|may|should|will|could) help",
    "give (?:this|it|these) a (?:shot|try|go|read)",
    "(?:please )?review",
    "tips",
    "next link",
)

# Verbs that point at a link when they come right before it ("visit <link>"); same rule.
WEB_LINK_VERBS: tuple[str, ...] = (
    "visit",
    "check out",
    "head (?:over )?(?:to|at)",
    "go to",
    "see",
    "refer to",
    "via",
    "at",
)

# Deflection to a store, branch, desk or agent in person (channel `store`).
STORE_PHRASES: tuple[str, ...] = (
    "(?:visit|visiting|go to|head to|head into|stop by|stopping by|pop into|drop by|swing by|"
    "check with|contact|call|speak (?:to|with)|talk to|let|ask|keep in contact with|"
    "keeping in contact with|reach out to|work back with|get in touch with|take (?:it|them|"
    "the device|your device|your [a-z]+) (?:in )?(?:to|into)|bring (?:it|them|the device|"
    "your device|your [a-z]+) (?:in )?(?:to|into)) (?:your|the|a|an|any|our|their|one of our)"
    " (?:local |nearest |nearby |closest |preferred |participating )?(?:apple store|"
    "store|shop|branch|restaurant|location|genius bar|service cent(?:er|re)|service provider|"
    "authori[sz]ed service provider|apple authori[sz]ed service provider|dealer|dealership|"
    "retailer|outlet|office|team members?|managers?|staff|airport)s?",
    "(?:make|book|set up|schedule) an? (?:genius bar )?(?:appointment|reservation)",
    "in person",
    "in-person",
    "(?:proceed|approach|go|head|come|return|report|walk)(?: [a-z]+){0,2} to the "
    "(?:airport |check-in |ticket |service |information |sales |customer service |baggage |"
    "lost and found )?(?:desk|counter|gate|office)",
    "you (?:may|can|will|need|should|must|could)(?: [a-z]+){0,8} (?:at|to) the "
    "(?:airport |check-in |ticket |service |information |sales |customer service |baggage )?"
    "(?:desk|counter)",
    "(?:team member|manager|staff member|member of staff|agent|colleague|representative|"
    "associate|personnel|crew)s? (?:at|in) (?:the|your|a) (?:store|desk|airport|counter|"
    "branch|gate|restaurant)",
    "airport (?:agent|staff|personnel|team)s?",
    "manager on duty",
    "(?:return|go back|head back|come back) to the (?:airport|store|shop|branch|restaurant)",
    "(?:reach out to|speak (?:to|with)|talk to|ask|let|contact|address (?:this |it )?with) "
    "(?:the |a |your )?(?:flight attendants?|cabin crew|crew members?|gate agents?|"
    "cafe management|restaurant management|store management)",
    "store locator",
)

# A hand-over to another account (channel `other_account`): a phrase like these right
# before an @handle in the body ("kindly refer to @AirAsiaBIG", "tweet @XboxSupport").
# The @handles a reply starts with are its addressees and never count.
OTHER_ACCOUNT_LEADS: tuple[str, ...] = (
    "refer (?:you )?to",
    "contact",
    "contacting",
    "tweet",
    "tweeting",
    "reach out to",
    "reach",
    "get in touch with",
    "speak (?:to|with)",
    "talk to",
    "ask",
    "message",
    "dm",
    "ping",
    "friends (?:at|from|over at|over|on)?",
    "folks (?:at|from|over at|over|on)?",
    "colleagues (?:at|from|over at|on)?",
    "away",
    "follow",
    "over at",
)

# Phrases that look like a deflection but are not; removed before the channel lists
# are matched ("we'll pass this feedback to our friends at @X", "send us a tweet @Us").
DEFLECTION_EXCEPTIONS: tuple[str, ...] = (
    "(?:feedback|this|it|these|them) (?:on |over |along )?(?:to|with) our (?:friends|"
    "colleagues|folks)",
    "(?:us|me) a tweet",
    "(?:unable|not able|can't|cannot) (?:to )?arrange (?:for )?(?:a )?call ?back",
    "(?:don't|do not|doesn't|does not) (?:currently |yet )?(?:offer|have|provide) (?:any )?"
    "(?:phone|telephone|email|e-mail|live chat|chat) support",
    "call cent(?:er|re) (?:has|have|had) (?:assisted|advised|helped|confirmed)",
    "tagging",
    "(?:for|when|after|since) (?:stopping by|visiting|coming (?:in|by|to))",
    "which (?:store|location|restaurant|branch|shop)",
    "(?:i|we)(?:'ll| will| can| could)? (?:call|contact|email|reach out to) the (?:store|restaurant"
    "|branch|location)",
    # "website" inside a question names where the problem is, not where to go:
    # "does this occur in specific apps or website?", "is it on the app or the website?"
    "(?:apps?|application|phone|device|computer) or (?:the |a |our |your )?(?:website|web ?site|"
    "browser|web)",
    "(?:website|web ?site|browser|web) or (?:the |a |our |your )?(?:apps?|application)",
    # A fallback after an answer, or an open offer, does not move this case anywhere:
    # "if you're still having trouble, please DM us", "feel free to DM us for any other
    # questions", "we're just a DM away".
    "(?:if|should) (?:you're|you are|you|it's|it is|the (?:issue|problem)|that|this|things) "
    "(?:still|continues?|persists?|keeps?|doesn't|does not|don't|do not|need)[^.!?]*",
    "(?:feel free to|don't hesitate to|do not hesitate to) (?:dm|message|reach out to|contact|"
    "send) us (?:for|with|if|should|any ?time)[^.!?]*",
    "(?:just )?a (?:dm|message|tweet) away[^.!?]*",
)

# Empathy: the brand acknowledges or apologises for the customer's problem.
EMPATHY_PHRASES: tuple[str, ...] = (
    "sorry",
    "apolog*",
    "our bad",
    "my bad",
    "regret*",
    "(?:we|i|we do|i do|we completely|we totally|we can|i can|we fully) understand",
    "understandabl*",
    "frustrat*",
    "(?:we|i) can (?:only )?imagine",
    "(?:we're|we are|i'm|i am) afraid",
    "(?:sad|hate|disappointed|concerned|upset|unhappy|bummed|gutted|unfortunate|concerning)"
    " to (?:hear|see|read|learn)",
    "not (?:what|something) (?:we|you) (?:want|like|wanted|hoped|expect|expected|love) to "
    "(?:hear|see|read)",
    "not the experience",
    "(?:never|don't|do not) want (?:you|our customers|this|that)",
    "(?:would|we'd|i'd) be (?:frustrated|upset|annoyed|disappointed|confused|concerned) too",
    "feel your pain",
    "we hear you",
    "disappoint*",
    "(?:that's|that is|this is|that sounds|it's) (?:not good|not ideal|no good|no fun|not fun|"
    "unfortunate|concerning|upsetting|worrying|troubling|annoying|awful|terrible|"
    "frustrating|not okay|not ok|not cool|not right|not acceptable|unacceptable)",
    "(?:sounds|must be|must have been) (?:frustrating|annoying|stressful|awful|difficult|"
    "upsetting|inconvenient|worrying|scary|concerning|no fun|tough|hard|a pain)",
    "oh no",
    "yikes",
    "bummer",
    "that stinks",
    "not the (?:news|answer|response) you",
    "make (?:this|it|things) right",
    "(?:we|i) know (?:how|it's|it is|this is|that's|that is) (?:important|frustrating|annoying|"
    "stressful|inconvenient)",
    "understand (?:how|your|the frustration|that this|that it)",
)

# Phrases that look empathic but are not; removed before EMPATHY_PHRASES are matched.
EMPATHY_EXCEPTIONS: tuple[str, ...] = (
    "no need to (?:apologi[sz]e|be sorry|say sorry)",
    "(?:don't|do not|never) (?:apologi[sz]e|be sorry)",
    "(?:if|to|help us|helps us|want to|we'd like to|like to|better|can|to better|"
    "need to|we'll) understand",
    "understand (?:more|what|which|where|when|if|whether|correctly|better)",
    "we understand correctly",
)

# Hedging: legalistic distancing from the problem ("it appears", "any inconvenience this
# may have caused", "as per our policy", "we are unable to comment").
HEDGING_PHRASES: tuple[str, ...] = (
    "it (?:would )?appears?",
    "appears? to (?:be|have)",
    "it (?:would )?seems?",
    "seems? to (?:be|have)",
    "(?:may|might|could) have (?:caused|experienced|been caused|occurred|encountered)",
    "any inconvenience",
    "inconvenience (?:this|that|it|which) (?:may|might|could) have",
    "unforeseen circumstances",
    "any (?:trouble|confusion|frustration|issues?|difficult(?:y|ies)|distress|upset) "
    "(?:this|that|it|which)? ?(?:may|might|has|have|could) (?:have )?caused",
    "(?:unable|not able|not in a position) to (?:comment|discuss|share|disclose|speculate|"
    "provide (?:any )?details|go into)",
    "(?:can't|cannot|can not|do not|don't|won't|will not) (?:comment|speculate|disclose|"
    "discuss|go into detail)",
    "as per (?:our |the |company |airline |bank )?(?:policy|policies|terms|t&cs?|guidelines|"
    "procedures?|rules|regulations)",
    "per (?:our|the) (?:policy|policies|terms|guidelines|procedures?)",
    "(?:our|company|the) polic(?:y|ies) (?:is|are|states?|does|doesn't|do|don't|requires?|"
    "prevents?|only)",
    "in (?:accordance|line|compliance) with",
    "terms (?:and|&) conditions",
    "t&cs?",
    "terms of (?:service|use|sale|carriage)",
    "we reserve the right",
    "(?:at|in) our (?:sole )?discretion",
    "(?:not|cannot be|can't be) (?:held )?(?:liable|responsible|accountable)",
    "(?:beyond|outside (?:of )?)(?:our|the airline's|the bank's) control",
    "regret to (?:inform|advise|say)",
    "(?:please|kindly) be (?:advised|informed|noted)",
    "be advised that",
    "for (?:security|privacy|legal|data protection) (?:reasons|purposes)",
    "(?:alleged|allegedly|reportedly|purported*)",
    "(?:no|any) (?:further )?(?:information|details|info) to (?:share|provide)",
    "(?:are|is) investigating (?:the|this|these|your)? ?(?:claim|report|allegation)s?",
)

# Phrases that look like hedging but are not; removed before HEDGING_PHRASES are matched.
# A question ("what seems to be going on?", "does it appear to work?") is not distancing.
HEDGING_EXCEPTIONS: tuple[str, ...] = (
    "what (?:seems|appears)",
    "(?:does|do|did|doesn't|don't|is|has) (?:it|everything|this|that|the|your|there|anything)"
    "[a-z -]{0,40} (?:appear|seem)",
    "(?:if|when|whether) (?:it|this|that|they|things) (?:seems?|appears?)",
    "(?:are|were) you (?:unable|not able)",
    "prevent any inconvenience",
    "(?:you|they) (?:seem|appear)",
    "(?:you|they)(?:'re| are) (?:seeing|having)",
    "issues you seem",
)

# The first word of a greeting that may be followed by the customer's first name
# ("Hi Sarah", "Thanks, Tom!"). Matched case-insensitively on the original text.
NAME_GREETINGS: tuple[str, ...] = (
    "hi",
    "hii",
    "hey",
    "heya",
    "hiya",
    "hello",
    "hallo",
    "howdy",
    "dear",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "morning",
    "evening",
    "thanks",
    "thank you",
    "thanks so much",
    "thank you so much",
    "thanks again",
    "thank you again",
    "thx",
    "ty",
    "sorry",
    "so sorry",
    "welcome",
    "welcome back",
    "congrats",
    "congratulations",
    "aw",
    "aww",
    "awww",
    "oh no",
    "yay",
    "woohoo",
    "ok",
    "okay",
    "great",
    "got it",
    "no worries",
    "no problem",
    "you're welcome",
    "anytime",
    "absolutely",
    "sure",
    "cheers",
    "yes",
)

# Capitalised words that follow a greeting but are not a person's first name ("Hi There",
# "Hey All", "Thanks Apple"). Compared lower-case.
_NOT_NAMES_WORDS = """
    there all again guys gals folks everyone everybody anyone someone friend friends fam
    team teams you ya yall we our us your i me my they them sorry thanks thank welcome buddy
    bud pal mate mates sir sirs madam maam mam dear kindly please yes yeah yep no nope the a
    an this that these those for could can would should will shall may might apologies
    apology regret appreciate appreciated based due what how why when where who which here
    just good great happy morning afternoon evening night day today tonight love hello hi
    hey oh ok okay so well it its and sure definitely absolutely nice glad awesome cool wow
    sweet fair noted understood gotcha right hmm bummer ugh yikes aww aw ah congrats
    congratulations cheers enjoy have let got not of in on at to with as if sadly
    unfortunately also do does did is are was were both human stranger neighbor neighbour
    champ chief boss legend superstar star valued customer customers member members
    traveller traveler travellers travelers guest guests passenger passengers gamer gamers
    fellow fan fans family fellas lads ladies gentlemen people world twitter tweeps
    apple spotify amazon xbox playstation iphone ipad mac macbook nike mcdonalds mcdonald
    premium google android windows microsoft delta walmart tesco uber chipotle verizon
    comcast airasia sony samsung mr mrs ms miss dr monday tuesday wednesday thursday friday
    saturday sunday january february march april june july august september october
    november december christmas xmas halloween thanksgiving merry facebook instagram
    youtube snapchat netflix hulu roku whatsapp messenger
    excellent perfect alright certainly actually currently hmmm woohoo woo yay hooray
    whoa uh oops hm fantastic brilliant amazing lovely indeed correct agreed true totally
    done exactly interesting bravo haha lol yup honestly seriously surprise boom bingo
    voila wonderful terrific shoot dang darn first second next then finally otherwise
    meanwhile additionally however alternatively regardless besides plus now later
    tomorrow yesterday soon once since because although though while also still yet
    aaw awe awww awwww awwwww ohh ohhh ooh oooh woah whoah hola hai boleh wait delicious
    impressive attention funny but hence sad hopefully woo-hoo yas yass yasss
"""
NOT_NAMES: frozenset[str] = frozenset(_NOT_NAMES_WORDS.split())

# Customer signal `solved`: the problem is solved or the answer helped.
SOLVED_PHRASES: tuple[str, ...] = (
    "(?:that|it|this|which|you|that's|thats) (?:has |have )?(?:worked|works|did it|did the "
    "trick|helped|fixed it|fixed the|sorted it|solved it|solved the|resolved it|answers? my)",
    "worked (?:perfectly|like a charm|a treat|great|fine|now|for me)",
    "works (?:now|again|fine now|perfectly now|great now)",
    "(?:it|that|this|everything) (?:does |should )?work (?:now|again)",
    "working (?:now|again|fine now|perfectly now|great now)",
    "(?:it's|its|it is|it's all|all|everything's|everything is|it's now|now|it has been|"
    "has been|got it|got that|got this|been|all been|issue|problem|that's|it was) "
    "(?:sorted|fixed|resolved|solved)",
    "(?:all|it's all|its all|everything's|everything is) (?:good|fine|ok|okay|set|working)",
    "all sorted",
    "sorted now",
    "sorted it",
    "fixed (?:it|now|itself)",
    "problem solved",
    "(?:it's|its|it is|is now|it's now|everything's|everything is|now) back (?:up|on|online|"
    "to normal)",
    "up and running",
    "got it (?:working|to work|back)",
    "figured it out",
    "(?:managed|was able) to (?:fix|sort|resolve|get it|log in|login|sign in|get in)",
    "no longer (?:an issue|a problem|happening)",
    "(?:received|got) (?:my|the) (?:refund|replacement|package|parcel|order|money|item)",
    "(?:package|parcel|order|item|refund|it) (?:has )?(?:arrived|came through|turned up|showed up)",
    "(?:very|super|really|so) helpful",
    "makes sense now",
    "that makes sense",
    "found it[!.]",
    "good to go",
    "(?:solved|fixed|sorted|resolved) (?:this|that|it|the (?:issue|problem))",
    # the answer helped, said in other words: "Worked 👌", "restarting does resolve it"
    "^ ?worked",
    "(?:does|did|do) (?:resolve|fix|solve|sort) (?:the|my|it|this|that)",
    "(?:it|that|this) helps",
    "(?:you|u) (?:guys )?(?:were|are|have been) (?:great|amazing|awesome|fantastic|brilliant|"
    "so helpful|the best|very helpful|a great help)",
    "(?:fab|great|excellent|amazing|awesome|brilliant|fantastic|outstanding|superb) "
    "(?:customer )?(?:service|support|help)",
    "(?:happy|satisfied|pleased) with (?:the|your|this|that|my)",
    "(?:thanks|thank you|thx) (?:so much )?for (?:the|your) (?:help|assistance|resolution|"
    "quick (?:response|reply|help)|intervention)",
    "(?:appreciate|appreciated) (?:the|your|you) (?:help|getting back|quick|prompt|response)",
    "(?:exchanged|refunded|replaced|rebooked) (?:with no fuss|no problem|quickly|today)",
    "(?:seems|seem|appears) to (?:be working|work now|have worked|be fixed|be sorted|be ok)",
    "(?:it's|it is|its) working",
    "(?:item|phone|bag|luggage|suitcase|parcel|package|wallet|laptop|card|it|they) (?:has |have "
    "|was |were |been )*(?:recovered|found|returned|located|retrieved)",
    "(?:recovered|found|got back) (?:my|the) (?:item|phone|bag|luggage|suitcase|parcel|package|"
    "wallet|laptop|card)",
)

# Phrases that look solved but are not; removed before SOLVED_PHRASES are matched: a
# hope or a condition ("until it's fixed", "hoping it's sorted", "if that makes sense").
SOLVED_EXCEPTIONS: tuple[str, ...] = (
    "(?:until|till|hoping|hope|hopefully|once|when|if|whether|before|unless|wish) "
    "[a-z' ]{0,30}(?:fixed|sorted|resolved|solved|work*|back|helped|helps)",
    "if (?:that|this|it) makes sense",
    "how (?:it|this|that) works?",
)

# Customer signal `problem`, strong form: the problem persists, the help did not work,
# the customer is dissatisfied or ignored. Beats `solved` and `thanks`.
PROBLEM_PERSISTS_PHRASES: tuple[str, ...] = (
    "still (?:not|no|isn't|doesn't|don't|can't|cannot|won't|haven't|hasn't|didn't|"
    "waiting|having|broken|down|the same|nothing|getting|an issue|a problem|happening|"
    "unable|showing|says|stuck|charged|missing|crashing|failing|doesnt|not working|nothing|"
    "awaiting|isnt|cant|havent|hasnt|wont|no sign|no word|no reply|no response)",
    "(?:didn't|doesn't|did not|does not|hasn't|has not|haven't|have not|won't|wouldn't|"
    "isn't|is not|wasn't|was not|not) (?:help*|work*|fix*|solve*|resolve*|sort*|change*|"
    "answer*|do anything|make a difference|been resolved|been fixed|been sorted)",
    "not (?:helpful|good enough|acceptable|happy|satisfied|impressed|received|arrived)",
    "(?:doesn't|does not|didn't|did not) seem to",
    "(?:only|sometimes|intermittently) works?",
    "works? (?:only|sometimes|intermittently|half)",
    "but now",
    "no (?:help|luck|joy|change|difference|response|reply|answer|update|resolution)",
    "already (?:tried|did|done|have|checked|contacted|sent|dm*|called|reset|restarted|"
    "reinstalled|followed|gave|told|done that|been)",
    "(?:tried|done|did) (?:that|this|all (?:of )?that|everything|all the steps) already",
    "useless",
    "pointless",
    "worthless",
    "waste of (?:time|money)",
    "(?:thanks|thank you|thx|cheers) for nothing",
    # sarcastic thanks: "thanks for leaving my package in the rain"
    "(?:thanks|thank you|thx|cheers) (?:a lot |so much |again )?(?:<handle> )?(?:for|to) "
    "(?:nothing|ruin*|wast*|ignor*|leaving|losing|breaking|cancell?ing|delaying|just|"
    "taking [a-z0-9 ]{1,20} to|the (?:late|slow|terrible|awful|horrible|lack|useless))",
    "no thanks to",
    "(?:no one|nobody|no-one|noone) (?:has )?(?:replied|responded|got back|gets back|"
    "answered|helped|called|contacted|cares|is helping|will help|seems|can|knows)",
    "(?:haven't|have not|never|didn't|did not|hasn't|has not) (?:heard|received|got|gotten|"
    "arrived|came|come|been contacted|had a reply|had a response)",
    "(?:didn't|did not|haven't|have not|hasn't|has not|not) receiv*",
    "nothing (?:there |here |you said |you sent )?(?:helped|helps|worked|works)",
    "never (?:got|received|arrived|came|heard|responded|replied|fixed|resolved|works?|do|did|"
    "does|called|showed)",
    "any (?:update|news|word|progress)",
    "(?:an |any )?update on (?:this|my|the)",
    "(?:been|keep|kept) waiting",
    "(?:same|identical) (?:issue|problem|thing|error|response|answer|reply|message)",
    "(?:copy and paste|copy paste|canned|automated|generic|scripted) (?:response|reply|answer)",
    "(?:not|aren't|are not|you're not) listening",
    "(?:don't|do not|doesn't|clearly don't) (?:care|give a)",
    "not what i (?:asked|said|meant)",
    "that's not (?:what|the|my)",
    "(?:no|nope),? (?:it|still|that|this)",
    "nope",
    "again and again",
    "yet again",
    # dissatisfaction said without "still": "this is nuts", "Bye AA", "lost my business"
    "(?:this|that|it) is (?:nuts|ridiculous|outrageous|unacceptable|a joke|insane|absurd|"
    "crazy|terrible|awful|disgusting|a disgrace|shameful|not right|not fair|not ok)",
    "ridiculous",
    "unacceptable",
    "outrageous",
    "pathetic",
    "disgrace*",
    "criminals?",
    "(?:rip ?off|scam)",
    "(?:lost|losing) (?:my|our) (?:business|custom)",
    "(?:i'll|i will|i'm going to|gonna|going to) (?:fly|go|switch|move|shop|take my business) "
    "(?:with|to|elsewhere)",
    "(?:never|not) (?:again|flying with you|shopping|using)",
    "(?:you|u) (?:are|were|r) (?:not right|wrong|lying)",
    "(?:another|more|empty) promises?",
    "(?:bye|goodbye),? @?[a-z]*$",
    "(?:not|nothing) (?:fun|funny|good enough)",
    "(?:i'd|i would) rather",
    "cost (?:you|u) (?:a|my|thousands?|hundreds?)",
)

# Faces and emoticons of an upset customer; both problem lists below include them.
UPSET_FACES: tuple[str, ...] = (
    ":-?\\(",
    "😡",
    "😠",
    "🤬",
    "😤",
    "😩",
    "😞",
    "☹",
    "😢",
    "😭",
    "🙄",
)

# Customer signal `problem`, weak form: a problem is described. Beats `thanks` only.
PROBLEM_PHRASES: tuple[str, ...] = (
    "not working",
    "(?:doesn't|does not|isn't|is not|won't|will not|wont|doesnt|isnt) (?:work|load|let|"
    "open|connect|play|start|turn|sync|update|show|download|charge|recogni[sz]e|accept)",
    "can't",
    "cannot",
    "can not",
    "couldn't",
    "unable to",
    "error*",
    "broken",
    "crash*",
    "keeps? (?:crashing|freezing|saying|asking|failing|dropping|happening|telling|"
    "disconnecting|stopping|restarting)",
    "problem*",
    "issue*",
    "wrong",
    "missing",
    "fail*",
    "stuck",
    "glitch*",
    "bug*",
    "refund",
    "(?:help me|need help|please help|help please|no help|help!)",
    "why",
    "worse",
    "outage*",
    "tired of",
    "where(?:'s| is| are)? my",
    "or not",
    "constantly",
    "get (?:ur|your|it|its|it's) ?(?:shit|act)? together",
    "sucks?",
    "broke*",
    "won't",
    "messed up",
    "screwed up",
    "rude",
    "unhelpful",
    "faulty",
    "dies",
    "not to work",
    "appalling*",
    "get (?:service|internet|it|my [a-z]+) back",
    "poor*",
    "shock*",
    "spam*",
    "hangs",
    "dropped",
    "no one",
    "nobody",
    "zero (?:resolution|help|response|stars)",
    "(?:does not|doesn't|did not|didn't|is not|isn't) (?:appear|show|work|load|arrive)",
    "help ?[?]",
    "wasn't (?:delivered|told|received|refunded)",
    "(?:didn't|did not|never) (?:get|give|tell)",
    "impossible",
    "difficult",
    "mad",
    "none of",
    "incompetent",
    "no (?:internet|service|signal|wi-?fi|power|connection|data|network)",
    "what's (?:happening|going on|wrong) (?:to|with)",
    "ridiculous",
    "unacceptable",
    "pathetic",
    "terrible",
    "awful",
    "horrible",
    "appalling",
    "disgust*",
    "disgrace*",
    "shocking",
    "rubbish",
    "worst",
    "joke",
    "disappoint*",
    "frustrat*",
    "fed up",
    "sick (?:of|and tired)",
    "unhappy",
    "angry",
    "furious",
    "annoy*",
    "pissed",
    "delay*",
    "cancel*",
    "never (?:again|flying|using|buying|ordering|shopping|using)",
    "charged",
    "overcharg*",
    "scam*",
    "complain*",
    "inconvenien*",
    "stranded",
    "gone",
    "on and off",
    "without (?:any )?(?:update|explanation|notice|warning|response|reply)s?",
    "refus*",
    "not satisfactor*",
    "unsatisf*",
    "rip*(?: |-)off",
    "lost",
    "damaged",
    "late",
    "do better",
    "too often",
    "have to wait",
    "(?:been |keep |kept )?waiting (?:for|over|since|on)",
    "smh",
    "wtf",
    "not (?:allowing|letting)",
    *UPSET_FACES,
)

# Customer signal `thanks`: plain thanks (no solved or problem words).
THANKS_PHRASES: tuple[str, ...] = (
    "thanks",
    "thank (?:you|u|ya|yall|y'all|everyone|all)",
    "thankyou",
    "many thanks",
    "thx",
    "thnx",
    "thanx",
    "ty",
    "tysm",
    "tyvm",
    "cheers",
    "appreciate*",
    "grateful",
    "much obliged",
    "🙏",
)

# A thank-you that comes with a request or an open matter is not plain thanks (a question
# mark blocks it too): "can you update my points please, thanks", "thanks in advance".
THANKS_BLOCKERS: tuple[str, ...] = (
    "please",
    "pls",
    "plz",
    "(?:can|could|would) (?:you|u)",
    "if (?:you|u) (?:could|can)",
    "(?:i'd|i would) appreciate it if",
    "(?:further|more|another|other|a) questions?",
    "not yet",
    "in advance",
)

# Brand answer `cannot_help`: the brand says it cannot help (it only counts when the
# post also names no channel to go to, see `text_signals.brand_answer_kind`).
CANNOT_HELP_PHRASES: tuple[str, ...] = (
    "(?:unable|not able|not in a position|no longer able) to (?:help|assist|do (?:anything|much|"
    "that|this|more)|offer|provide|make (?:an )?exceptions?|honou?r|accommodate|waive|"
    "reverse|override|compensate|reimburse|refund|process|issue|give|change|add|remove|"
    "extend|grant|approve|cancel|release|reinstate|restore|recover|retrieve|support)",
    "(?:can't|cannot|can not|couldn't|could not|won't be able to|will not be able to|aren't "
    "able to|are not able to|don't have the ability to) (?:help|assist|do anything|do much|"
    "offer|provide|make (?:an )?exceptions?|honou?r|accommodate|waive|reverse|override|"
    "compensate|reimburse|refund|issue|give|change that|change this|add|extend|grant|"
    "approve|release|reinstate|restore|recover|retrieve|guarantee|support)",
    "nothing (?:more |else |further )?(?:we|i) (?:can|could) do",
    "(?:isn't|is not|not) something (?:we|i) (?:can|are able to|'re able to)",
    "not (?:a|an) (?:feature|option) (?:of|in|on|for)",
    "out of our hands",
    "(?:beyond|outside (?:of )?)our control",
    "(?:we|i) (?:don't|do not) have (?:any )?(?:control|access|the ability|a way|visibility)",
    "no way (?:for us )?to",
    "(?:isn't|is not|not) (?:currently )?possible",
    "(?:isn't|is not|not|aren't|are not) (?:currently )?(?:strictly )?(?:allowed|permitted)",
    "(?:don't|do not|no longer) (?:offer|support|provide|sell|carry|allow|accept|stock)",
    "(?:we|i) (?:can|could) only (?:suggest|recommend|apologi[sz]e)",
)

# Brand answer `fix`, done: the brand states the problem is fixed or acted on.
FIX_DONE_PHRASES: tuple[str, ...] = (
    "(?:has|have|'s|is|was|were) (?:now |just |already )?(?:been )?(?:fixed|resolved|sorted|"
    "refunded|processed|corrected|restored|reinstated|credited|issued|reset|unlocked|"
    "reactivated|rebooked|amended|waived|cancell?ed|removed|applied|re-?sent|updated|added|"
    "approved|changed|replaced)",
    "(?:a |the )?(?:fix|update) (?:has been|was|is) released",
    "(?:we|i)(?:'ve| have)? (?:now |just |already |gone ahead and )?(?:fixed|resolved|sorted|"
    "refunded|credited|issued|processed|reset|corrected|restored|reinstated|applied|"
    "added|removed|cancell?ed|rebooked|updated|amended|unlocked|reactivated|waived|"
    "replaced|released|re-?sent|approved|arranged|changed|upgraded)",
    "(?:is|are|it's|should be|should now be|is now|are now) (?:now )?(?:back up|back online|"
    "back to normal|working again|working now|up and running|resolved|fixed|live|"
    "available again|restored)",
    "(?:correction|amendment|change|update|cancell?ation|refund|request) (?:is |has been |was )?"
    "(?:already )?(?:done|made|completed|processed|approved|issued)",
    "taken care of",
    "(?:you're|you are) all set",
    "you (?:should|will|'ll) (?:now |both |all |still )?(?:see|be able|have|receive|get)",
    "no longer (?:[a-z]+ )?[a-z]+s",
    "(?:is|are) (?:currently |still )?in beta",
    "there(?:'s| is) (?:currently )?(?:a|an|no) (?:[a-z]+ )?limit",
    "(?:the|a) fix (?:is|has|for)",
    "(?:should|will) be (?:fixed|resolved|back|available|released|refunded|credited|"
    "delivered|working)",
)

# Brand answer `fix`, a step: the brand gives a concrete answer or step in public.
FIX_STEP_PHRASES: tuple[str, ...] = (
    "try (?:to )?(?:restart*|reboot*|updat*|reinstall*|re-install*|log*|sign*|clear*|"
    "turn*|reset*|delet*|remov*|forc*|using|a different|another|switch*|disabl*|enabl*|"
    "toggl*|unplug*|power*|uninstall*|reconnect*|re-?add*|going|these|this|the following|"
    "again|a hard|a soft|a force|it)",
    "have you tried",
    "let's (?:try|have you)",
    "go ahead and (?:pair|unpair|restart|update|install|log|uninstall|reinstall|try|delete|remove|"
    "reset|turn|clear|force|back up|sign|open|close|disable|enable|check for)",
    "(?:go|head|navigate) to (?:settings|your settings|the settings|your account|account "
    "settings|your profile|browse|home|library|your library|the app store|preferences)",
    "settings ?>",
    "(?:in|from|under) (?:your )?(?:settings|preferences)",
    "(?:tap|select|click on|choose|toggle|swipe) (?:on )?(?:the |your )?[a-z]+",
    "open (?:the|your) [a-z]+ app",
    "turn (?:it|this|that|them) (?:off|on)",
    "(?:[.!?:] |^ )(?:please )?(?:make sure|be sure to)",
    "(?:please|and|then|go ahead and) (?:install|download) (?:the )?(?:latest |new |newest )?"
    "(?:update|software|version|ios)",
    "(?:please|and|then|go ahead and) update (?:to|your) (?:ios|the latest|software|the app|"
    "device)",
    # "you can/may <do something>"; "you can DM us" and the like are FIX_EXCEPTIONS
    "(?:you|u) (?:can|may) (?:also |now |easily |always |still )?[a-z]+",
    "does (?:logging|restarting|reinstalling|clearing|updating|resetting|signing|turning|"
    "using|switching|deleting|removing|disabling|enabling|forcing|toggling)",
    "we can (?:manually |certainly |also |definitely )?(?:add|refund|credit|replace|reissue|"
    "resend|re-send|send you|change|cancel|rebook|offer|issue|arrange|waive|upgrade|"
    "reinstate|restore|reset|unlock)",
    "(?:you'll|you will|you|you'd|you would) need to",
    "(?:could|can|would) you (?:please )?(?:try )?(?:restart*|reboot*|reinstall*|re-install*|"
    "updat*|reset*|log out|sign out|clear*|delet*|remov*|turn*|forc*|disabl*|enabl*|"
    "uninstall*|unplug*|power cycle|toggle*)",
    "(?:we|i)(?:'d| would) (?:recommend|suggest) (?:trying|restarting|updating|reinstalling|"
    "clearing|resetting|turning|logging|signing|backing|using|switching|disabling|enabling|"
    "removing|installing|uninstalling|force)",
    "follow (?:these|the|this) (?:steps|instructions|guide)",
    "to do (?:this|that|so)",
)

# Phrases that look like a fix but are not; removed before the FIX_* lists are matched:
# Apple's "which iOS? Go to Settings > General > About" asks, it does not answer.
FIX_EXCEPTIONS: tuple[str, ...] = (
    "settings ?> ?general ?> ?about",
    "(?:tap|click|select) (?:on )?(?:here|the link|this link)",
    "to do so",
    # Spotify asks for a song link this way: a request for information, not an answer.
    "(?:go (?:to )?the song ?> ?)?tap the three dots ?> ?share ?> ?copy (?:song )?link",
    "(?:at|only|in) select [a-z]+",
    "have you tried (?:any|anything|something|other|troubleshooting)",
    "(?:when|if|after|as) you try",
    "(?:you|u) (?:can|may) (?:also |always |still |just )?(?:not|get in touch|reach|contact|dm|"
    "send us|tweet|message|call|email|e-mail|refer|find us|let us know|give us|write|submit|"
    "file|visit|head|go to|check out|provide|share|vote|follow|expect|check|reply|suggest|"
    "show your support)",
    "(?:make sure|be sure) to select",
    "(?:you|u) (?:can|may) (?:also )?(?:use|stop by|give)",
    "(?:glad|happy|great to hear) (?:it's|it is|that it's|everything's|everything is)",
    "(?:we'd|we would) recommend (?:suggesting|sharing|voting|reaching|contacting|leaving)",
    # "you may be/have ...", "you can find tips here": no step, and no answer
    "(?:you|u) (?:can|may) (?:also |still |just )?(?:be|have|having|need|want|find|see|read|"
    "learn|access|view)",
    # steps that live behind a link are the link's, not a public answer
    "follow (?:these|the|this) (?:steps|instructions|guide) (?:in|at|on|from|here|found|via|"
    "below|listed)",
)

# A cannot-help answer that comes with an alternative or a route is not `cannot_help`
# ("this isn't possible, but you can ...", "we can help you in English"); nor is one
# that also gives a step from FIX_STEP_PHRASES ("not possible, but try reinstalling").
CANNOT_HELP_ALTERNATIVES: tuple[str, ...] = (
    "(?:but|however|though),? (?:you|we|u) (?:can|could|may)",
    "in the meantime",
    "instead",
    "alternatively",
    "what (?:we|you) can do",
    "in english",
    "(?:we'd|we would|we're|we are|we'll) (?:be )?(?:more than |still )?(?:happy|glad) to help",
    "(?:you|u) (?:can|may) (?:also |still |always )?[a-z]+",
    "(?:we|i)(?:'d| would) (?:recommend|suggest)",
)

# Brand answer `fix`, by link: "here's how: <link>". A fix, but not a public answer.
FIX_LINK_PHRASES: tuple[str, ...] = (
    "here's how",
    "here is how",
    "here's what (?:you can do|to do)",
    "this (?:article|guide|link|page) (?:explains|shows|will show|walks|has|covers|can help|"
    "should help|will help|may help|might help)",
    "(?:the )?steps (?:here|below|in this|at|listed)",
)

# Care request: a customer raises a problem, a question or a request for help. A
# question mark also counts; praise, banter and thanks on their own do not.
CARE_REQUEST_PHRASES: tuple[str, ...] = (
    "not working",
    "(?:doesn't|does not|isn't|is not|won't|will not|wont|doesnt|isnt|didn't|didnt|did not|"
    "hasn't|hasnt|haven't|havent|never) (?:work*|load*|let*|open*|connect*|play*|start*|turn*|"
    "sync*|updat*|show*|download*|charg*|recogni[sz]e|accept*|arriv*|receiv*|get|got|"
    "come|came|deliver*|respond*|reply|replied|answer*|refund*|fix*|help*|"
    "been|allow*|send|sent)",
    "can't",
    "cannot",
    "can not",
    "couldn't",
    "unable to",
    "error*",
    "broke*",
    "crash*",
    "(?:keeps?|kept) [a-z]+ing",
    "stopped",
    "stop working",
    "nothing (?:works|worked|is working|happens|happened)",
    "disconnect*",
    "(?:don't|doesn't|didn't) (?:download|load|connect|open|show|play|sync|charge)",
    "already (?:did|done|tried|have|contacted|called)",
    "(?:multiple|several|many|[0-9]+) times",
    "messed up",
    "screwed up",
    "not allowing",
    "(?:wasn't|weren't|was not) (?:told|delivered|given|informed|refunded)",
    "(?:didn't|did not|never) (?:get|give|tell|told)",
    "impossible",
    "difficult",
    "mad",
    "assault*",
    "(?:hung|hanging|hang) up",
    "could do better",
    "spam*",
    "shock*",
    "pathetic",
    "joke",
    "rubbish",
    "disgust*",
    "disgrace*",
    "appalling",
    "shocking",
    "embarrass*",
    "repulsive",
    *UPSET_FACES,
    "😔",
    "problem*",
    "issue*",
    "trouble*",
    "wrong",
    "incorrect*",
    "missing",
    "lost",
    "fail*",
    "stuck",
    "glitch*",
    "bug*",
    "freez*",
    "frozen",
    "lag*",
    "slow*",
    "outage*",
    "(?:is|are|was|went|been|goes|keeps going) down",
    "no (?:internet|service|signal|wi-?fi|power|connection|data|network|sound|audio|video)",
    "refund*",
    "cancel*",
    "delay*",
    "late",
    "charg*",
    "overcharg*",
    "bill*",
    "fraud*",
    "scam*",
    "hack*",
    "stolen",
    "damaged",
    "faulty",
    "defective",
    "locked",
    "blocked",
    "suspended",
    "declined",
    "rude",
    "complain*",
    "unacceptable",
    "ridiculous",
    "terrible",
    "awful",
    "horrible",
    "worst",
    "useless",
    "disappoint*",
    "frustrat*",
    "annoy*",
    "fed up",
    "sucks?",
    "hate",
    "help*",
    "assist*",
    "support",
    "fix",
    "sort (?:it|this|that) out",
    "resolve*",
    "question*",
    "still",
    "waiting",
    "again",
    "please",
    "pls",
    "plz",
    "(?:dm|contact|call|email|message) me",
    "get back to me",
    "respond",
    "reply",
    "answer",
    "how (?:do|can|does|to|come|long|much|many|is|are|would|should)",
    "why",
    "when (?:will|is|are|can|do|does|did|should)",
    "where (?:is|are|do|can|does|did|should)",
    "what (?:is|happened|do|should|does|did|are|can)",
    "what's (?:going on|happening|up with|the)",
    "is (?:there|it|this|my)",
    "are (?:there|you|they|my)",
    "can (?:i|you|we|someone|u|anyone|my)",
    "could (?:you|u|i|someone|anyone)",
    "would (?:you|it|u)",
    "do (?:you|i|u|we|they)",
    "does (?:anyone|any|it|this|the|my)",
    "did (?:you|u|anyone|my)",
    "will (?:you|i|it|there|u|my|the|this)",
    "any (?:way|chance|idea|update|news|reason|word|eta|plans?|info|help|one|body)",
    "anyone",
    "wonder*",
    "won't",
    "gone",
    "poor*",
    "shame*",
    "no dice",
    "no luck",
    "(?:not|isn't|wasn't|aren't) (?:happy|impressed|friendly|good|great|acceptable|fair|right|"
    "ok|okay|working|helpful|satisfied)",
    "anymore",
    "look (?:what|at what|at this)",
    "someone (?:got|hacked|accessed|used|took|stole)",
    "changed my (?:email|password|details)",
    "i need",
    "need (?:help|to know|some|a|an|my|your)",
)

# -- What a brand reply does (text_signals.brand_reply_act) ----------------------------
# Read in order: pleasantries and sympathy are taken out first (they carry no answer),
# then a reply that asks, passes feedback on or promises is that; one with words left
# over is an answer in public (METRICS.md: "a concrete public answer or explanation").

# Courtesy without substance: greetings, thanks, closers, offers to help later.
PLEASANTRY_PHRASES: tuple[str, ...] = (
    "(?:hi|hey|hello|howdy|good (?:morning|afternoon|evening)) (?:there|again|all|everyone)?",
    "(?:thanks|thank you|thx|ty|cheers)(?: so much| very much| again)?(?: for [a-z' ]{1,40}?"
    "(?:reaching out|getting in touch|contacting us|letting us know|the (?:heads up|update|"
    "info|information|feedback|kind words|shout ?out|love|patience)|your (?:patience|"
    "understanding|feedback|kind words|message|tweet|time|support|business|reply)|"
    "following up|sharing|checking|asking|that|this))?",
    "(?:you're|you are|you're very|you are very|you're most|you are most|you're so) welcome",
    "(?:no problem|no worries|anytime|any time|my pleasure|our pleasure|happy to help|"
    "glad to help|glad we could help|here to help|here for you|we're here for you)",
    "(?:we're|we are|i'm|i am|so) (?:glad|happy|thrilled|delighted|pleased) (?:to hear|"
    "you|that|it|we|everything)[a-z' ]{0,40}",
    "(?:great|glad|good|awesome) to hear[a-z' ]{0,40}",
    "(?:have|enjoy) (?:a|an|the|your) (?:great|good|nice|wonderful|lovely|awesome|fantastic|"
    "safe|amazing)? ?(?:day|night|evening|weekend|week|flight|trip|time|one|holiday|meal)",
    "take care",
    "(?:please )?(?:let us know|reach (?:back )?out|tweet us|don't hesitate to (?:reach|"
    "contact|tweet|let)|feel free to (?:reach|contact|tweet|let))[a-z' ]{0,30}(?:if|should|"
    "whenever|any ?time)[a-z' ]{0,50}(?:questions?|help|assistance|anything|need us|concerns?|"
    "else|further)",
    "(?:is there )?anything else (?:we|i) (?:can|could|may) (?:help|assist|do)[a-z ]{0,20}[?]?",
    "(?:we're|we are) (?:just )?a tweet away",
    "(?:we|i)(?:'d| would)? (?:be )?(?:happy|glad|love) to (?:help|assist|look into this)",
    "(?:we|i) (?:want|wanna) to help",
    "(?:let's|let us) (?:take a look|look into this|get this sorted|investigate)",
    "(?:we|i) understand",
    "if (?:we|i) can (?:be of )?(?:any |further )?(?:assistance|help)[a-z' ,]{0,60}",
    "(?:it was|it's been|it has been) (?:a|our|my) (?:pleasure|privilege)[a-z' ]{0,40}",
    "(?:we're|we are|i'm|i am) (?:happy|glad|here) to (?:help|assist)[a-z' ]{0,40}",
    "(?:we'd|we would|i'd|i would) (?:love|like) to (?:help|assist)",
    "(?:thank you|thanks) for (?:your |the )?(?:patience|waiting)",
    "(?:my|our) apologies for the (?:long )?(?:delay|wait)[a-z' ,]{0,30}",
    "(?:we|i) (?:apologi[sz]e|are sorry|'re sorry) for the (?:long )?(?:delay|wait)[a-z' ]{0,20}",
    "as you (?:can|may) imagine[a-z' ,]{0,40}",
    "congratulations on [a-z' ]{1,30}",
    "(?:hope|i hope) (?:this|that) helps",
    "(?:please )?let (?:us|me) know (?:the results?|how (?:it|that|this) goes|how you get on|"
    "if (?:this|that|it|these) (?:helps?|works?|does the trick)|if the (?:issue|problem) "
    "(?:persists|continues)[a-z' ]{0,40})",
)

# The reply asks the customer for something: a clarifying question or details.
ASK_PHRASES: tuple[str, ...] = (
    "(?:could|can|would|will) (?:you|u) (?:please )?(?:tell|let us know|confirm|share|"
    "provide|send|clarify|explain|describe|check|give us|elaborate|advise)",
    "(?:please|pls|kindly) (?:confirm|provide|share|send|tell us|let us know|clarify|advise|"
    "tell me|let me know)",
    "let us know (?:which|what|the|your|if|how|when|where|whether|more)",
    "(?:what|which) (?:version|model|device|ios|browser|app|os|error)",
    "(?:do|did|are|have|has|is|does) (?:you|u|this|it) [a-z' ]{1,40}[?]",
)

# The reply only passes the customer's point on, or says it heard it.
FEEDBACK_ONLY_PHRASES: tuple[str, ...] = (
    "(?:pass|passed|passing|share|shared|sharing|forward|forwarded|send|sent|relay|relayed|"
    "note|noted) (?:your|this|the|that|these|those|all)? ?(?:feedback|comments?|suggestions?|"
    "thoughts|concerns?|request|idea|ideas|input) (?:on|along|with|to)?",
    "(?:we'll|we will|we've|we have|i'll|i will) (?:make sure to )?(?:let|tell) the "
    "(?:team|teams|relevant team)",
    "(?:we|i) hear you",
    "(?:let|tell|told|informed|let's let) (?:our|the) (?:team|teams|relevant team)",
    "(?:your )?feedback (?:is|has been) (?:noted|passed|shared|forwarded|appreciated)",
    "(?:we|i)(?:'ve| have)? (?:made a note|taken note|noted)",
)

# The reply promises to act, or says it is on it, with nothing concrete yet.
PROMISE_PHRASES: tuple[str, ...] = (
    "(?:we're|we are|i'm|i am|team is|teams are|they are|they're) (?:currently |actively )?"
    "(?:looking into|investigating|working on|working to|working hard|reviewing|aware)",
    "(?:will|'ll) (?:follow up|be in touch|get back|reach out to you|research|look into|"
    "investigate|keep you (?:posted|updated)|update you|contact you|call you)",
    "(?:we|i) hope to",
    "(?:as soon as|asap)",
    "one moment",
    "(?:let|allow) me (?:check|look|see)",
)
