"""Every tuned number of the content transforms, named once with the reason for it.

A constant lives here when it decides what is kept or how much work is done;
the modules import it by name, so a reader can see all such choices at once
and a change to one is a change to this file.
"""

from __future__ import annotations

__all__ = [
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
    "TEXT_KINDS_TERM_MAX_SHARE",
    "TEXT_MAX_DISTINCT_SHARE",
    "TEXT_MIN_LINES_FOR_TEMPLATES",
]

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
