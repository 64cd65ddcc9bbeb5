/**
 * Word lists of the three generated user tasks (sentiment, topic, arithmetic).
 *
 * @module
 */

/** Sentiment adjectives by polarity. */
export const SENTIMENT_ADJECTIVES = {
  positive: [
    "wonderful",
    "delightful",
    "charming",
    "brilliant",
    "moving",
    "funny",
    "clever",
    "beautiful",
    "engaging",
    "warm",
    "gripping",
    "smart",
    "fresh",
    "lovely",
    "superb",
    "touching",
    "inventive",
    "thoughtful",
    "stunning",
    "joyful",
  ],
  negative: [
    "dull",
    "boring",
    "clumsy",
    "tedious",
    "bland",
    "awful",
    "lifeless",
    "messy",
    "shallow",
    "predictable",
    "weak",
    "tiresome",
    "pointless",
    "flat",
    "painful",
    "lazy",
    "ugly",
    "confusing",
    "stale",
    "forgettable",
  ],
} as const;

/** Sentiment verb phrases by polarity. */
export const SENTIMENT_VERBS = {
  positive: [
    "will stay with you",
    "deserves a big audience",
    "earns every laugh",
    "keeps you hooked",
    "rewards your patience",
  ],
  negative: [
    "wastes your time",
    "never comes together",
    "falls apart quickly",
    "drags on forever",
    "misses every mark",
  ],
} as const;

/** Things a review talks about. */
export const SENTIMENT_NOUNS = [
  "film",
  "movie",
  "story",
  "plot",
  "script",
  "cast",
  "performance",
  "soundtrack",
  "ending",
  "dialogue",
  "direction",
  "comedy",
  "drama",
  "thriller",
  "documentary",
  "sequel",
] as const;

/** Intensifiers (the empty one keeps short sentences). */
export const SENTIMENT_ADVERBS = [
  "",
  "very ",
  "truly ",
  "rather ",
  "remarkably ",
  "quite ",
  "surprisingly ",
  "consistently ",
] as const;

/** Per AG News class: who, does what, to what, where. */
export interface TopicVocab {
  /** Who the news is about. */
  readonly entities: readonly string[];
  /** What they do. */
  readonly verbs: readonly string[];
  /** To whom or what. */
  readonly objects: readonly string[];
  /** Where or when. */
  readonly places: readonly string[];
}

/** Topic vocabularies in class order: World, Sports, Business, Sci/Tech. */
export const TOPIC_VOCAB: readonly TopicVocab[] = [
  {
    entities: [
      "the president",
      "the prime minister",
      "rebel forces",
      "the united nations",
      "peace negotiators",
      "the foreign minister",
      "border guards",
      "election officials",
    ],
    verbs: ["meets", "condemns", "signs a treaty with", "holds talks with", "warns"],
    objects: [
      "neighbouring states",
      "opposition leaders",
      "the security council",
      "aid groups",
      "protesters",
      "the parliament",
    ],
    places: [
      "in baghdad",
      "in geneva",
      "in kabul",
      "near the border",
      "in the capital",
      "at the summit",
    ],
  },
  {
    entities: [
      "the yankees",
      "the home team",
      "the star striker",
      "the champion",
      "the head coach",
      "olympic swimmers",
      "the red sox",
      "the goalkeeper",
    ],
    verbs: ["beats", "signs with", "draws with", "wins against", "loses to"],
    objects: [
      "the league leaders",
      "a rival club",
      "the defending champions",
      "the national side",
      "the title holders",
      "the visitors",
    ],
    places: [
      "at the stadium",
      "in the playoffs",
      "at the olympics",
      "in extra time",
      "in the final",
      "at home",
    ],
  },
  {
    entities: [
      "shares of the retailer",
      "the central bank",
      "oil prices",
      "the airline",
      "investors",
      "the automaker",
      "the insurer",
      "the telecom group",
    ],
    verbs: ["rise after", "fall on", "report", "cut jobs after", "announce"],
    objects: [
      "quarterly profits",
      "a merger deal",
      "weak sales",
      "an interest rate rise",
      "strong earnings",
      "a takeover bid",
    ],
    places: [
      "on wall street",
      "in early trading",
      "in europe",
      "this quarter",
      "at the stock exchange",
      "in tokyo",
    ],
  },
  {
    entities: [
      "the software maker",
      "scientists",
      "nasa",
      "the chip maker",
      "researchers",
      "the web company",
      "the space agency",
      "engineers",
    ],
    verbs: ["release", "discover", "launch", "unveil", "patch"],
    objects: [
      "a new browser",
      "a distant planet",
      "a security flaw",
      "a faster processor",
      "a search engine update",
      "a new telescope",
    ],
    places: ["online", "in the lab", "in orbit", "this week", "at a tech conference", "on mars"],
  },
];

/** Filler shared by all topics, so no single word gives the class away. */
export const TOPIC_FILLERS = [
  "officials said",
  "according to reports",
  "on tuesday",
  "late on friday",
  "sources said",
  "the statement said",
] as const;

/** Names in arithmetic problems. */
export const NAMES = [
  "Ana",
  "Ben",
  "Chen",
  "Dara",
  "Eli",
  "Fatima",
  "Gus",
  "Hana",
  "Ivan",
  "Jade",
  "Kofi",
  "Lena",
] as const;

/** Countable items in arithmetic problems. */
export const ITEMS = [
  "apples",
  "marbles",
  "books",
  "stickers",
  "pencils",
  "cookies",
  "cards",
  "shells",
  "coins",
  "toys",
  "eggs",
  "flowers",
] as const;
