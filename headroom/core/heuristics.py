"""Every heuristic constant of the core, named once with the reason it has its value.

A constant lives here when its value is a judgement about data (how rare is
rare, how many rows an extreme needs, how much work is done) rather than a fact
of a format; modules import it by name, so a reader sees all such choices at
once. Each section belongs to the modules that read it.
"""

from __future__ import annotations

__all__ = [
    "CATEGORY_MAX_DISTINCT",
    "CATEGORY_MAX_SHARE",
    "CATEGORY_VALUE_MAX_CHARS",
    "CODE_DOC_KEEP_LINES",
    "CODE_DOC_MIN_LINES",
    "CODE_FACTS_PER_BODY",
    "CODE_FACT_LINE_MAX_CHARS",
    "CODE_FACT_MAX_REPEAT",
    "CODE_MAX_DEF_LINE_CHARS",
    "CODE_MAX_SIGNATURE_LINES",
    "CODE_MIN_BODY",
    "CODE_MIN_LINES",
    "CODE_RELEVANT",
    "CODE_STATEMENT_MAX_LINES",
    "DIFF_CONTEXT",
    "ERROR_ROWS_MAX",
    "ERROR_SHARE_MAX",
    "GITLOG_MIN_COMMITS",
    "GITLOG_RELEVANT",
    "GITLOG_RELEVANT_MAX_SHARE",
    "GREP_HEADING_SHARE",
    "GREP_MAX_PATH_SHARE",
    "GREP_MIN_MATCHES",
    "GREP_MIN_MATCHES_FOR_SELECTION",
    "GREP_PER_FILE",
    "GREP_RELEVANT",
    "GREP_SEARCH_ROOTS_SHARE",
    "GROUP_EXTREMES",
    "GROUP_MAX_DISTINCT",
    "GROUP_MIN_ROWS",
    "GUARANTEE_ROWS_MAX",
    "LOG_BLOCK_MAX_LINES",
    "LOG_COLLAPSE_AT",
    "LOG_GENERALIZE_AT",
    "LOG_GENERALIZE_MAX_MASKED",
    "LOG_MAX_LISTED_VALUES",
    "LOG_MIN_LINES",
    "LOG_RARE_MAX",
    "LOG_RARE_SHARE",
    "LOG_RARE_WORD_MIN",
    "LOG_RARE_WORD_SHARE",
    "LOG_RELEVANT",
    "LOG_SCAN_CHUNK",
    "MARKER_DIMENSIONS_MAX",
    "MARKER_VALUES_MAX",
    "ORDERABLE_MIN_DISTINCT",
    "ORDERABLE_MIN_SHARE",
    "RANGE_REQUESTS_MAX",
    "RANGE_ROWS_MAX",
    "RANK_MAX",
    "RANK_UNNAMED_ROWS_MAX",
    "RARE_MAX_COUNT",
    "RARE_SHARE",
    "RECALL_GROUP_MAX_SHARE",
    "RECALL_GROUP_MAX_TOKENS",
    "RECORD_ANALYSIS_MAX_COLUMNS",
    "RELEVANCE_MAX_SUBSTRING_TERMS",
    "RELEVANCE_MAX_TERMS",
    "RELEVANCE_STEM_MIN",
    "RETRIEVE_MAX_UNITS",
    "RETRIEVE_PROJECTION_MAX",
    "SELECT_MAX_KEPT_SHARE",
    "SELECT_MIN_CHARS",
    "SELECT_MIN_ROWS",
    "TEXT_KINDS_TERM_MAX_SHARE",
    "TEXT_MAX_DISTINCT_SHARE",
    "TEXT_MIN_LINES_FOR_TEMPLATES",
]

# --- Records, relevance and recall (tables, table_requests, relevance, words, recall*) ------

#: Below this many rows a table is always shown whole: selection would save little.
SELECT_MIN_ROWS = 24
#: Below this many characters of rendered rows a table is shown whole, for the same reason.
SELECT_MIN_CHARS = 2000
#: When the rows every guarantee keeps reach this share, showing all rows costs little more.
SELECT_MAX_KEPT_SHARE = 0.8

#: A value (or a cell's type, or a row's key set) is rare when at most this share of rows hold it...
RARE_SHARE = 0.02
#: ...and at most this many rows: a value in 40 of 2,000 rows is a category, not an anomaly.
RARE_MAX_COUNT = 5

#: A column with more distinct values than this is an identifier or free text, not a category;
#: an absolute cap so that a 200k-row table's 20k-value column never counts as categorical.
CATEGORY_MAX_DISTINCT = 50
#: ...and a categorical column repeats its values: distinct values at most this share of rows.
CATEGORY_MAX_SHARE = 0.2
#: Category values longer than this are prose, whose rarity says nothing.
CATEGORY_VALUE_MAX_CHARS = 60

#: A column is orderable when at least this share of its non-empty cells parse as one kind of
#: number, date or timestamp (a few "N/A" cells do not make a price column text).
ORDERABLE_MIN_SHARE = 0.9
#: An orderable column needs this many distinct values; fewer make it a category.
ORDERABLE_MIN_DISTINCT = 6

#: A grouping column has at most this many values: per-group extremes cost groups x columns rows.
GROUP_MAX_DISTINCT = 12
#: Every group must hold this many rows for its own min/max to differ from its only row.
GROUP_MIN_ROWS = 3
#: Rows kept at each end of every orderable column within each group (the global ends keep more).
GROUP_EXTREMES = 1

#: Columns (union of record keys) analysed per table: bounds the cost of free-form objects.
RECORD_ANALYSIS_MAX_COLUMNS = 200

#: Error rows beyond this many are counted in the marker rather than all shown.
ERROR_ROWS_MAX = 100
#: A column "flags" rows only when the flagged rows are a minority: when most rows carry an
#: `error` key, its presence is the norm, and its rare values are handled as categories.
ERROR_SHARE_MAX = 0.5
#: Rows one rare-value or rare-shape dimension may add; beyond it the marker gives counts.
GUARANTEE_ROWS_MAX = 100

#: Dimensions (columns) the marker describes; the rest are named only.
MARKER_DIMENSIONS_MAX = 8
#: Values listed per categorical column in the marker, most frequent first.
MARKER_VALUES_MAX = 6

#: "the 3rd highest" asks for rank 3; more than this is a listing, not a rank.
RANK_MAX = 25
#: A superlative naming no column ("the 3rd longest", and the data calls it `runtime`) ranks
#: every orderable column of the value kind, else every orderable column, adding at most this
#: many rows in all: a few per column answer it whichever column was meant.
RANK_UNNAMED_ROWS_MAX = 60

#: Rows a range in the question ("between 100 and 250") may add; more are left to a query.
RANGE_ROWS_MAX = 50
#: Ranges read from one text: a question asks about a few; a pasted snippet full of `<` and
#: `>` is not a list of queries, and each range costs one pass over every orderable column.
RANGE_REQUESTS_MAX = 8

#: Distinct question terms scored: a 100k-character question must not cost terms x output.
RELEVANCE_MAX_TERMS = 2000
#: Terms with punctuation (ids, emails, dotted names, quoted phrases) are found by substring
#: search, one pass over the output each: at most this many.
RELEVANCE_MAX_SUBSTRING_TERMS = 64
#: A word's stem (plural and verb endings removed) must keep this many characters to be used.
RELEVANCE_STEM_MIN = 3

#: A later question that names a group of an earlier output (the matches under one directory,
#: the rows holding one value of a column) gets that whole group appended, up to this many
#: tokens: about a screen the model reads at once. Past it the recall says how many parts were
#: left and which retrieve query returns them.
RECALL_GROUP_MAX_TOKENS = 1500
#: A value held by more than this share of the rows names no group: it is the column's usual
#: value ("completed"), not a part of the table the question singles out. (A directory named
#: in grep output follows `GREP_MAX_PATH_SHARE`, as when the question comes first.)
RECALL_GROUP_MAX_SHARE = 0.34

#: Units one `headroom_retrieve` query returns before it asks for a narrower query.
RETRIEVE_MAX_UNITS = 50
#: Rows a column projection ("price" alone as the query) returns.
RETRIEVE_PROJECTION_MAX = 500

# --- text kinds: logs, code reads, grep output, plain text ---------------------------------

#: A log template recurring fewer times than this is always kept verbatim: a handful
#: of look-alike lines is exactly what a question tends to be about.
LOG_COLLAPSE_AT = 5
#: A template is also rare, and kept verbatim, while its lines are at most this share
#: of the log: an unusual event repeated a handful of times stands out by frequency
#: whatever its severity (8 lines of 1,500 must stay; 8 of 200 are routine).
LOG_RARE_SHARE = 0.02
#: ...but never above this many lines, so a long log's mid-frequency chatter still collapses.
LOG_RARE_MAX = 12
#: Lines that share a template once a rare word is masked (a user or host name) must
#: number this many before they merge into one collapsed template.
LOG_GENERALIZE_AT = 5
#: At most this many words of a line may be masked by that merge: a line most of whose
#: words are rare is a message of its own, not a variant of another.
LOG_GENERALIZE_MAX_MASKED = 2
#: A multi-line block (traceback, stack trace, indented detail) longer than this keeps
#: its head and tail only when kept: a 5,000-line dump is not one fact.
LOG_BLOCK_MAX_LINES = 200
#: A collapsed template lists the values of a masked slot only when they are this few:
#: then they name hosts, codes or states rather than timestamps or counters.
LOG_MAX_LISTED_VALUES = 6
#: Lines the request's terms pick out, kept verbatim (scaled by the caller's bias).
LOG_RELEVANT = 8
#: A log shorter than this is left as it is: too few lines for a template to recur.
LOG_MIN_LINES = 8
#: A word is "rare" (maskable as a value) when found in at most this share of the lines...
LOG_RARE_WORD_SHARE = 1 / 40
#: ...or in at most this many lines, whichever is more: a name seen twice is still a name.
LOG_RARE_WORD_MIN = 2
#: Lines joined per regex pass: one pass per chunk keeps the speed of a single pass
#: without a copy of the whole log in memory.
LOG_SCAN_CHUNK = 4096
#: A unit (record, function, match group) whose term is found in more than this share
#: of the output's units is not picked by that term: it tells them apart from nothing.
TEXT_KINDS_TERM_MAX_SHARE = 0.05

#: A function body shorter than this many lines is never elided: the marker would cost
#: about as much as the lines.
CODE_MIN_BODY = 4
#: Lines of an elided body that carry a literal (a threshold, a retry count, a raised
#: message) stay, at most this many per body: they answer "how many times does it retry".
CODE_FACTS_PER_BODY = 6
#: A literal-bearing line whose shape recurs in more bodies than this is boilerplate
#: (the same guard in every method) and is elided with the rest.
CODE_FACT_MAX_REPEAT = 3
#: A kept literal-bearing statement split over lines is followed to its closing bracket,
#: up to this many lines (a raised message continued on the next line).
CODE_STATEMENT_MAX_LINES = 4
#: A line longer than this is data (an embedded blob), not a fact worth keeping alone.
CODE_FACT_LINE_MAX_CHARS = 160
#: A brace-language definition line is at most this long; longer lines are data, and
#: the definition pattern would backtrack over them.
CODE_MAX_DEF_LINE_CHARS = 400
#: A Python signature spans at most this many lines; a scan that goes further is not one.
CODE_MAX_SIGNATURE_LINES = 60
#: A code read shorter than this many lines is sent whole: an outline would save little.
CODE_MIN_LINES = 20
#: Function bodies the request's terms pick out, kept whole (scaled by the caller's bias).
CODE_RELEVANT = 3
#: A long module or class docstring keeps this many opening lines...
CODE_DOC_KEEP_LINES = 2
#: ...and is cut only when longer than this many lines.
CODE_DOC_MIN_LINES = 6

#: Each file keeps its first match groups (match plus its context lines).
GREP_PER_FILE = 2
#: Below this many matches grep output is only regrouped (lossless).
GREP_MIN_MATCHES_FOR_SELECTION = 40
#: Fewer matches than this are not worth regrouping under their paths.
GREP_MIN_MATCHES = 3
#: ripgrep's heading layout is recognised when at least this share of the non-blank
#: lines are path headings or numbered lines under them.
GREP_HEADING_SHARE = 0.8
#: Groups the request's terms pick out, kept (scaled by the caller's bias).
GREP_RELEVANT = 10
#: Matches under a path named by the request are all kept while they are at most this
#: share of the output; a word naming most paths (the top directory) selects nothing.
GREP_MAX_PATH_SHARE = 0.5
#: Path words that together name at least this share of the matches are the directories
#: the search ran over (its own arguments), and select nothing.
GREP_SEARCH_ROOTS_SHARE = 0.9

#: Unchanged lines kept around each change of a diff, as `diff -U2` would.
DIFF_CONTEXT = 2

#: A git log of fewer commits than this is sent whole.
GITLOG_MIN_COMMITS = 3
#: Commits the request's terms pick out, kept with their file lists (scaled by bias).
GITLOG_RELEVANT = 3
#: A commit's term found in more than this share of the commits picks nothing.
GITLOG_RELEVANT_MAX_SHARE = 0.1

#: Plain text shorter than this many non-blank lines is only tidied.
TEXT_MIN_LINES_FOR_TEMPLATES = 50
#: Plain text whose non-blank lines are less than this share distinct repeats enough to
#: collapse like a log.
TEXT_MAX_DISTINCT_SHARE = 0.7
