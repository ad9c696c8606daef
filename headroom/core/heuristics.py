"""Every heuristic constant of the core, named once with the reason it has its value.

A constant lives here when its value is a judgement about data (how rare is
rare, how many rows an extreme needs) rather than a fact of a format. Each
section belongs to the modules that read it.
"""

from __future__ import annotations

__all__ = [
    "CATEGORY_MAX_DISTINCT",
    "CATEGORY_MAX_SHARE",
    "CATEGORY_VALUE_MAX_CHARS",
    "ERROR_ROWS_MAX",
    "ERROR_SHARE_MAX",
    "GROUP_EXTREMES",
    "GROUP_MAX_DISTINCT",
    "GROUP_MIN_ROWS",
    "GUARANTEE_ROWS_MAX",
    "MARKER_DIMENSIONS_MAX",
    "MARKER_VALUES_MAX",
    "ORDERABLE_MIN_DISTINCT",
    "ORDERABLE_MIN_SHARE",
    "RANGE_ROWS_MAX",
    "RANK_MAX",
    "RARE_MAX_COUNT",
    "RARE_SHARE",
    "RECORD_ANALYSIS_MAX_COLUMNS",
    "RELEVANCE_MAX_SUBSTRING_TERMS",
    "RELEVANCE_MAX_TERMS",
    "RELEVANCE_STEM_MIN",
    "RETRIEVE_MAX_UNITS",
    "RETRIEVE_PROJECTION_MAX",
    "SELECT_MAX_KEPT_SHARE",
    "SELECT_MIN_CHARS",
    "SELECT_MIN_ROWS",
]

# --- Records and relevance (tables.py, json_data.py, detect.py, relevance.py, recall.py) -------

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

#: Rows a range in the question ("between 100 and 250") may add; more are left to a query.
RANGE_ROWS_MAX = 50

#: Distinct question terms scored: a 100k-character question must not cost terms x output.
RELEVANCE_MAX_TERMS = 2000
#: Terms with punctuation (ids, emails, dotted names, quoted phrases) are found by substring
#: search, one pass over the output each: at most this many.
RELEVANCE_MAX_SUBSTRING_TERMS = 64
#: A word's stem (plural and verb endings removed) must keep this many characters to be used.
RELEVANCE_STEM_MIN = 3

#: Units one `headroom_retrieve` query returns before it asks for a narrower query.
RETRIEVE_MAX_UNITS = 50
#: Rows a column projection ("price" alone as the query) returns.
RETRIEVE_PROJECTION_MAX = 500
