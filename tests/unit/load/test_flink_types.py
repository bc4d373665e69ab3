"""common/load/flink_types.py: the one Flink type grammar of the job and of sample_gen.

Exact expectations for the canonical text, the structure (root, parameters with Flink's
defaults, children, nullability) and the error messages. The cases marked "former
disagreement" are where samplegen's own parser (removed) and this one used to differ; each is
decided by Flink itself (LogicalTypeParser and the SQL parser of CREATE TABLE).
"""

from __future__ import annotations

import random

import pytest

from common.load.flink_types import MAX_LENGTH, FlinkType, FlinkTypeError, parse_type
from samplegen import schema


def scalar(root: str, text: str | None = None, params: tuple[int, ...] = (), not_null: bool = False) -> FlinkType:
    return FlinkType(root, text or root, not_null, params)


INT = scalar("INT")
STRING = scalar("STRING")


@pytest.mark.parametrize(
    "text,expected",
    [
        ("INT", INT),
        ("integer", INT),
        ("BIGINT NOT NULL", scalar("BIGINT", "BIGINT NOT NULL", not_null=True)),
        ("DOUBLE PRECISION", scalar("DOUBLE")),
        ("BYTES", scalar("BYTES")),
        # DECIMAL: Flink's defaults are DECIMAL(10, 0) and DECIMAL(p, 0); the text keeps what was written
        ("DECIMAL", scalar("DECIMAL", params=(10, 0))),
        ("NUMERIC(5)", scalar("DECIMAL", "DECIMAL(5)", (5, 0))),
        ("dec(38,18) not null", scalar("DECIMAL", "DECIMAL(38, 18) NOT NULL", (38, 18), not_null=True)),
        # lengths: CHAR / BINARY default to 1; a bare VARCHAR / VARBINARY is unbounded in Flink's DDL
        ("CHAR", scalar("CHAR", params=(1,))),
        ("CHAR(3)", scalar("CHAR", "CHAR(3)", (3,))),
        ("VARCHAR", scalar("VARCHAR", params=(MAX_LENGTH,))),
        ("VARCHAR(20)", scalar("VARCHAR", "VARCHAR(20)", (20,))),
        ("BINARY", scalar("BINARY", params=(1,))),
        ("VARBINARY", scalar("VARBINARY", params=(MAX_LENGTH,))),
        # time precisions: TIME 0, TIMESTAMP / TIMESTAMP_LTZ 6 by default
        ("TIME", scalar("TIME", params=(0,))),
        ("TIME(3) WITHOUT TIME ZONE", scalar("TIME", "TIME(3)", (3,))),
        ("TIMESTAMP", scalar("TIMESTAMP", params=(6,))),
        ("TIMESTAMP(9) WITHOUT TIME ZONE", scalar("TIMESTAMP", "TIMESTAMP(9)", (9,))),
        ("TIMESTAMP_LTZ", scalar("TIMESTAMP_LTZ", params=(6,))),
        ("timestamp(3) with local time zone", scalar("TIMESTAMP_LTZ", "TIMESTAMP_LTZ(3)", (3,))),
        ("TIMESTAMP WITH TIME ZONE", scalar("TIMESTAMP_TZ", "TIMESTAMP WITH TIME ZONE", (6,))),
        ("INTERVAL DAY(2) TO SECOND(3)", scalar("INTERVAL", "INTERVAL DAY(2) TO SECOND(3)")),
        # nested types: children in order, ROW field names as Flink sees them (unquoted)
        (
            "ARRAY<INT NOT NULL>",
            FlinkType(
                "ARRAY", "ARRAY<INT NOT NULL>", False, children=(("", scalar("INT", "INT NOT NULL", not_null=True)),)
            ),
        ),
        ("INT ARRAY NOT NULL", FlinkType("ARRAY", "ARRAY<INT> NOT NULL", True, children=(("", INT),))),
        ("STRING MULTISET", FlinkType("MULTISET", "MULTISET<STRING>", False, children=(("", STRING),))),
        ("MAP<STRING, INT>", FlinkType("MAP", "MAP<STRING, INT>", False, children=(("key", STRING), ("value", INT)))),
        (
            "ROW<a INT, `b c` STRING NOT NULL 'what b is'>",
            FlinkType(
                "ROW",
                "ROW<`a` INT, `b c` STRING NOT NULL 'what b is'>",
                False,
                children=(("a", INT), ("b c", scalar("STRING", "STRING NOT NULL", not_null=True))),
            ),
        ),
        ("ROW(x INT)", FlinkType("ROW", "ROW<`x` INT>", False, children=(("x", INT),))),
        ("ROW<>", FlinkType("ROW", "ROW<>", False)),
    ],
)
def test_structure_and_canonical_text(text, expected):
    assert parse_type(text) == expected


def test_nested_structure():
    row = parse_type("ROW<id BIGINT NOT NULL, tags ARRAY<VARCHAR(8)>, prices MAP<STRING, DECIMAL(10, 2)>>")
    assert row.text == "ROW<`id` BIGINT NOT NULL, `tags` ARRAY<VARCHAR(8)>, `prices` MAP<STRING, DECIMAL(10, 2)>>"
    assert [name for name, _ in row.children] == ["id", "tags", "prices"]
    (_, ident), (_, tags), (_, prices) = row.children
    assert ident.not_null and not ident.nullable
    assert tags.children[0][1].length == 8
    assert prices.children[1][1].decimal == (10, 2)


def test_properties():
    assert parse_type("DECIMAL(12, 4)").decimal == (12, 4)
    assert parse_type("DECIMAL").decimal == (10, 0)
    assert parse_type("TIME").precision == 0
    assert parse_type("TIMESTAMP").precision == 6
    assert parse_type("TIMESTAMP_LTZ(3)").precision == 3
    assert [parse_type(t).length for t in ("CHAR", "VARCHAR(5)", "STRING", "BYTES")] == [1, 5, MAX_LENGTH, MAX_LENGTH]
    integers = [t for t in ("TINYINT", "SMALLINT", "INT", "BIGINT", "DOUBLE", "DECIMAL") if parse_type(t).is_integer]
    assert integers == ["TINYINT", "SMALLINT", "INT", "BIGINT"]
    strings = [t for t in ("CHAR", "VARCHAR", "STRING", "BYTES") if parse_type(t).is_string]
    assert strings == ["CHAR", "VARCHAR", "STRING"]
    assert parse_type("DECIMAL").is_numeric and not parse_type("STRING").is_numeric
    assert parse_type("INT NULL").nullable and parse_type("INT").name == "INT"
    with pytest.raises(ValueError, match="INT is not a DECIMAL"):
        parse_type("INT").decimal
    with pytest.raises(ValueError, match="DATE has no fractional-second precision"):
        parse_type("DATE").precision
    with pytest.raises(ValueError, match="DOUBLE is not a character or binary string type"):
        parse_type("DOUBLE").length


@pytest.mark.parametrize(
    "text,problem",
    [
        ("", "empty type"),
        ("GEOMETRY", "unknown type GEOMETRY"),
        ("BIGINTT", "unknown type BIGINTT; did you mean 'BIGINT'?"),
        ("ARRAY<INT", "expected '>' at the end"),
        ("ROW", "expected '<' or '(' after ROW at the end"),
        ("CHAR(`x`)", "expected the CHAR length (a number) at '`x`' (position 6)"),
        ("INTERVAL YEAR(5)", "YEAR precision must be 1 to 4, found 5"),
        ("INT NULL NOT NULL", "unexpected 'NOT' after a complete type (position 10)"),
        ("VARCHAR(99999999999)", "VARCHAR length must be 1 to 2147483647, found 99999999999"),
    ],
)
def test_errors_say_what_and_where(text, problem):
    with pytest.raises(FlinkTypeError) as err:
        parse_type(text)
    assert str(err.value) == problem


# --- former disagreements between samplegen's parser and this one ------------------------------------


@pytest.mark.parametrize(
    "text,problem",
    [
        # REAL: samplegen read it as FLOAT; Flink has no REAL (LogicalTypeParser has no such keyword, the
        # SQL DDL says "Type is not supported: REAL")
        ("REAL", "unknown type REAL; Flink has no REAL, use FLOAT"),
        # DECIMAL bounds: samplegen took any numbers; Flink's DecimalType wants 1 <= p <= 38, 0 <= s <= p
        ("DECIMAL(0)", "DECIMAL precision must be 1 to 38, found 0"),
        ("DECIMAL(39, 2)", "DECIMAL precision must be 1 to 38, found 39"),
        ("DECIMAL(5, 6)", "DECIMAL scale must be 0 to 5, found 6"),
        # precision bounds: samplegen took TIMESTAMP(12); Flink's time types take 0 to 9
        ("TIMESTAMP(12)", "TIMESTAMP precision must be 0 to 9, found 12"),
        ("TIME(10)", "TIME precision must be 0 to 9, found 10"),
        ("TIMESTAMP_LTZ(10)", "TIMESTAMP_LTZ precision must be 0 to 9, found 10"),
        ("VARCHAR(0)", "VARCHAR length must be 1 to 2147483647, found 0"),
        # parameters where Flink has none, or too many: samplegen kept them as params
        ("INT(5)", "unexpected '(' after a complete type (position 4)"),
        ("STRING(5)", "unexpected '(' after a complete type (position 7)"),
        ("TIMESTAMP(3, 4)", "expected ')' at ',' (position 12)"),
        # time-zone words: samplegen skipped any run of WITH/WITHOUT/LOCAL/TIME/ZONE
        ("TIMESTAMP WITH ZONE", "expected 'LOCAL TIME ZONE' or 'TIME ZONE' after WITH at 'ZONE' (position 16)"),
        ("TIMESTAMP WITHOUT LOCAL TIME ZONE", "expected 'TIME ZONE' after WITHOUT at 'LOCAL' (position 19)"),
        # ROW fields: samplegen did not need commas between them, and allowed a trailing one
        ("ROW<a INT b INT>", "expected ',' at 'b' (position 11)"),
        ("ROW<a INT,>", "expected a ROW field name at '>' (position 11)"),
        # a keyword as an unquoted ROW field name: both parsers took it; Flink's parsers refuse it
        ("ROW<date DATE>", "ROW field name 'date' (position 5) is a keyword: quote it as `date`"),
    ],
)
def test_former_disagreements_refused_as_flink_does(text, problem):
    with pytest.raises(FlinkTypeError) as err:
        parse_type(text)
    assert str(err.value) == problem


@pytest.mark.parametrize(
    "text,root,canonical,params",
    [
        # samplegen read WITH TIME ZONE as a plain TIMESTAMP: it is its own type (ZonedTimestampType)
        ("TIMESTAMP(3) WITH TIME ZONE", "TIMESTAMP_TZ", "TIMESTAMP(3) WITH TIME ZONE", (3,)),
        # samplegen did not know TIME ... WITHOUT TIME ZONE
        ("TIME(3) WITHOUT TIME ZONE", "TIME", "TIME(3)", (3,)),
        # explicit NULL: both took it, as Flink does: the same as nothing
        ("INT NULL", "INT", "INT", ()),
        # suffix ARRAY / MULTISET: samplegen refused them
        ("INT NOT NULL ARRAY NOT NULL", "ARRAY", "ARRAY<INT NOT NULL> NOT NULL", ()),
        ("INT ARRAY ARRAY", "ARRAY", "ARRAY<ARRAY<INT>>", ()),  # Flink's SQL DDL takes it too
        # ROW field descriptions: samplegen refused them
        ("ROW<a INT 'the a'>", "ROW", "ROW<`a` INT 'the a'>", ()),
        # a quoted keyword is a fine field name
        ("ROW<`date` DATE>", "ROW", "ROW<`date` DATE>", ()),
        # DECIMAL defaults: samplegen left params empty and filled (10, 0) in later; now in the params
        ("DECIMAL", "DECIMAL", "DECIMAL", (10, 0)),
        ("DECIMAL(7)", "DECIMAL", "DECIMAL(7)", (7, 0)),
        # CHAR: samplegen treated a bare CHAR as unbounded; Flink makes it CHAR(1)
        ("CHAR", "CHAR", "CHAR", (1,)),
    ],
)
def test_former_disagreements_accepted_as_flink_does(text, root, canonical, params):
    parsed = parse_type(text)
    assert (parsed.root, parsed.text, parsed.params) == (root, canonical, params)


def test_quoted_row_names_unescape_doubled_backticks():
    # samplegen's tokenizer could not read `a``b`; Flink reads it as the name a`b
    row = parse_type("ROW<`a``b` INT, `x y` STRING>")
    assert [name for name, _ in row.children] == ["a`b", "x y"]
    assert row.text == "ROW<`a``b` INT, `x y` STRING>"


# --- sample_gen uses this parser ------------------------------------------------------------------


def test_samplegen_uses_the_one_parser():
    assert schema.parse_type is parse_type and schema.FlinkType is FlinkType
    assert schema.SchemaTypeError is FlinkTypeError  # code catching the old name still catches
    assert not hasattr(schema, "_Parser") and not hasattr(schema, "_tokenize")


@pytest.mark.parametrize("text", ["TIMESTAMP(3) WITH TIME ZONE", "INTERVAL DAY", "ARRAY<INTERVAL MONTH>"])
def test_samplegen_refuses_types_flink_json_cannot_read(text):
    with pytest.raises(schema.SchemaTypeError, match="the generator makes no values of "):
        schema.value_maker(parse_type(text), "c")
    assert schema.problems("x", parse_type("TIMESTAMP WITH TIME ZONE")) == ["value: unsupported type TIMESTAMP_TZ"]


def test_samplegen_values_follow_the_declared_lengths():
    rng = random.Random(1)
    assert len(schema.value_maker(parse_type("CHAR"), "code")(rng, 0)) == 1
    assert len(schema.value_maker(parse_type("CHAR(4)"), "code")(rng, 0)) == 4
    assert schema.value_maker(parse_type("VARCHAR"), "code")(rng, 0).startswith("code-")  # unbounded
    assert schema.problems("ab", parse_type("CHAR")) == ["value: longer than 1"]
    assert schema.problems("a" * 100, parse_type("VARCHAR")) == []
    assert schema.convert("abcdef", parse_type("VARCHAR(3)")) == "abc"
    assert schema.problems({"a": 2}, parse_type("MULTISET<STRING>")) == []
