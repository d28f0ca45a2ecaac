"""Hypothesis strategies for hostile input, shared by the fuzz tests of every venue's parser: strings that look
like numbers but are not ASCII decimals, text with control and format characters, arbitrary JSON."""

from hypothesis import strategies as st

# Unicode categories no parsed text may carry: controls, format characters (bidi overrides, zero-width),
# surrogates, line and paragraph separators.
REFUSED = {"Cc", "Cf", "Cs", "Zl", "Zp"}

# Strings float(), int() or str.isdigit() read as numbers although they are not ASCII decimals, text with
# control/format characters, and a few shapes that once reached a plain exception.
ODD_STRINGS = [
    "²",
    "¹",
    "٣",
    "①",
    "２",
    "١٢",
    "1_000",
    " 5 ",
    "nan",
    "-inf",
    "Infinity",
    "1e999",
    "0x10",
    "",
    " ",
    "\u202eBTCUSDT",
    "BTC\u200bUSDT",
    "\ufeffBTC",
    "BTC\u2028",
    "\x85",
    "\ud800",
    "1" * 5000,
    "2" * 25,
]
digits = st.characters(categories=["Nd", "No", "Nl"])  # every script's digits, superscripts, circled, Roman numerals
number_like = st.text(st.one_of(digits, st.sampled_from("0123456789.+-eE_ ")), max_size=8)
texts = st.one_of(st.text(max_size=20), st.text(digits, max_size=8), number_like, st.sampled_from(ODD_STRINGS))
ints = st.one_of(st.integers(), st.sampled_from([10**400, -(10**400), 2**63, 2**64, 0, 1, 2, 3, -1]))
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(), texts)


def json_values(field_names: list[str]) -> st.SearchStrategy:
    """Arbitrary JSON values whose objects often use the parser's own field names (json.dumps writes nan and the
    infinities as NaN/Infinity, which json.loads reads back)."""
    keys = st.sampled_from(field_names) | st.text(max_size=6)
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
    )
