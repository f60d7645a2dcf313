//! CQL2 filters for OGC API – Features Part 3: Basic CQL2, the advanced comparison operators
//! (`LIKE`, `BETWEEN`, `IN`) and the spatial functions, in CQL2 text and CQL2 JSON; and the
//! `sortby` of Part 8.
//!
//! The `filter` query parameter with `filter-lang=cql2-text` is parsed by [`parse`] against the
//! collection's declared queryables and evaluated per feature by [`eval`]. The supported language is
//! Basic CQL2 (OGC 21-065r2, <http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2>) in its text
//! encoding (<http://www.opengis.net/spec/cql2/1.0/conf/cql2-text>):
//!
//! - `AND`, `OR` and `NOT` with the precedence `NOT` > `AND` > `OR`, and parentheses;
//! - the comparisons `=`, `<>`, `<`, `>`, `<=` and `>=` between a property and a literal, in either
//!   order, and `IS NULL` and `IS NOT NULL`;
//! - (advanced comparison operators) `property [NOT] LIKE 'pattern'` on strings (`%` any run of
//!   characters, `_` one, `\` escapes), `property [NOT] BETWEEN low AND high` and
//!   `property [NOT] IN (a, b, …)`, read as the comparisons they stand for (`>= AND <=`,
//!   `= OR =`), so their three-valued logic is the comparisons';
//! - the literals `'text'` (a quote inside is written `''`), numbers (integer, decimal,
//!   exponent, signed), `TRUE` and `FALSE`, `TIMESTAMP('2026-10-01T00:00:00Z')` and
//!   `DATE('2026-10-01')`, and the stand-alone predicates `TRUE` and `FALSE`;
//! - (spatial functions: basic-spatial-functions, basic-spatial-functions-plus,
//!   spatial-functions) `S_INTERSECTS`, `S_EQUALS`, `S_DISJOINT`, `S_TOUCHES`, `S_WITHIN`,
//!   `S_OVERLAPS`, `S_CROSSES` and `S_CONTAINS` between the geometry queryable and a literal, in
//!   either order (`S_WITHIN(literal, geometry)` is read as `S_CONTAINS(geometry, literal)`): WKT
//!   `POINT`, `LINESTRING`, `POLYGON`, `MULTIPOINT`, `MULTILINESTRING`, `MULTIPOLYGON` and
//!   `GEOMETRYCOLLECTION`, with or without `Z` (a third coordinate is dropped: the features are
//!   flat), rings closed and `EMPTY` allowed for a ring, and `BBOX(west, south, east, north)` (or
//!   six numbers with elevations); coordinates are CRS84 longitude and latitude. They are
//!   evaluated by geo (`Intersects`, and the DE-9IM matrix of `Relate` for the others) against the
//!   [`Feature`]'s geometry, after a test of the boxes that settles most features without it.
//!
//! [`parse_json`] reads CQL2 JSON (`filter-lang=cql2-json`) into the same [`Expr`], with the same
//! checks and limits; its errors name the place as a JSON Pointer. [`Expr::to_json`] writes it
//! back. [`parse_sortby`], [`sort_values`] and [`compare_sort_values`] order features by
//! queryables (typed as the comparisons type them, nulls last in either direction).
//!
//! Keywords are case-insensitive; property names are case-sensitive and may be double-quoted
//! (`"status"`), which is needed for names that are keywords or contain characters such as `-`.
//! Everything else in CQL2 (functions such as `CASEI` or `T_AFTER`, arithmetic, arrays,
//! comparisons between two properties) is refused with [`FilterError::Unsupported`] or a
//! similarly specific error.
//!
//! Every literal must fit the type of the property it is compared with: strings with `String`,
//! numbers with `Number`, `TRUE`/`FALSE` with `Boolean` (and only with `=` and `<>`),
//! `TIMESTAMP(…)`/`DATE(…)` with `Timestamp`, and geometries (only in a spatial function) with
//! `Geometry`. Properties of type `Timestamp` hold RFC 3339 strings
//! in the feature; a value that is a plain date (`2026-10-01`) is read as the start of that day in
//! UTC.
//!
//! Temporal comparisons are between instants. A `DATE('2026-10-01')` literal stands for the
//! instant 2026-10-01T00:00:00Z, the start of the day in UTC, so `t >= DATE('2026-10-01')` selects
//! everything from that midnight on and `t = DATE('2026-10-01')` only a value at exactly that
//! midnight. CQL2 requires `TIMESTAMP` literals in UTC with a `Z`; any RFC 3339 offset is accepted
//! here and converted to UTC.
//!
//! Evaluation follows the three-valued logic of CQL2: a comparison with a property that is absent,
//! null, or holds a JSON value of another type than its queryable is *unknown*; `NOT unknown` is
//! unknown; `AND` is false if any operand is false and `OR` is true if any operand is true. A
//! feature is selected only when the whole filter is true. `IS NULL` is never unknown: it is true
//! for an absent or null property (and never for a feature's geometry). A spatial function on a
//! feature without a geometry is unknown. Strings compare by Unicode code points and numbers
//! numerically (as `f64`).
//!
//! To keep a request from tying up the server, a filter is limited to [`MAX_CHARS`] characters,
//! [`MAX_TOKENS`] tokens and a nesting of [`MAX_DEPTH`] parentheses and `NOT`s.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use geo::{BoundingRect, Intersects, Relate, Validation};
use geo_types::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon, Rect,
};
use serde_json::{Value, json};

/// The value of `filter-lang` that selects the text parser, [`parse`].
pub const FILTER_LANG: &str = "cql2-text";

/// The value of `filter-lang` that selects the JSON parser, [`parse_json`].
pub const FILTER_LANG_JSON: &str = "cql2-json";

/// The CQL2 conformance classes this module implements, for the `/conformance` document.
pub const CONFORMANCE_CLASSES: [&str; 7] = [
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
];

/// The longest filter accepted, in characters.
pub const MAX_CHARS: usize = 10_000;

/// The most tokens (names, literals, operators, parentheses) a filter may have.
pub const MAX_TOKENS: usize = 1_000;

/// The deepest nesting of parentheses and `NOT` a filter may have.
pub const MAX_DEPTH: usize = 64;

/// A parsed filter expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The predicate `TRUE` or `FALSE` on its own.
    Literal(bool),
    /// All operands hold; the parser makes at least two.
    And(Vec<Expr>),
    /// At least one operand holds; the parser makes at least two.
    Or(Vec<Expr>),
    /// The operand does not hold.
    Not(Box<Expr>),
    /// A property compared with a literal, normalised so that the property is on the left.
    Compare {
        /// The queryable's name.
        property: String,
        /// The comparison operator.
        op: CompareOp,
        /// The literal, of a type that fits the queryable.
        value: Literal,
    },
    /// `property LIKE 'pattern'` (`%` any run of characters, `_` one character, `\` takes the
    /// next character as it is), or `NOT LIKE` when `negated`. `BETWEEN` and `IN` are parsed into
    /// comparisons joined by `AND` and `OR`.
    Like {
        /// The queryable's name (a string).
        property: String,
        /// The pattern as written.
        pattern: String,
        /// Whether this is `NOT LIKE`.
        negated: bool,
    },
    /// `property IS NULL`, or `property IS NOT NULL` when `negated`.
    IsNull {
        /// The queryable's name.
        property: String,
        /// Whether this is `IS NOT NULL`.
        negated: bool,
    },
    /// A spatial comparison function between the geometry property and a literal, normalised so
    /// that the property is the first argument (`S_WITHIN(POINT(…), geometry)` is
    /// `S_CONTAINS(geometry, POINT(…))`).
    Spatial {
        /// The function.
        op: SpatialOp,
        /// The geometry queryable's name.
        property: String,
        /// The literal: a `BBOX(…)` is a [`Geometry::Rect`]; coordinates are CRS84 longitude and
        /// latitude, any third coordinate dropped.
        geometry: Geometry<f64>,
    },
}

/// A spatial comparison function of CQL2 (Spatial Functions), evaluated on the DE-9IM
/// intersection matrix as Simple Features defines it (geo's `Relate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpatialOp {
    /// `S_INTERSECTS`: a point in common.
    Intersects,
    /// `S_EQUALS`: topologically equal.
    Equals,
    /// `S_DISJOINT`: no point in common.
    Disjoint,
    /// `S_TOUCHES`: a point in common, no interior point in common.
    Touches,
    /// `S_WITHIN`: the first inside the second.
    Within,
    /// `S_OVERLAPS`: same dimension, interiors meet, neither covers the other.
    Overlaps,
    /// `S_CROSSES`: interiors meet in a lower dimension.
    Crosses,
    /// `S_CONTAINS`: the second inside the first.
    Contains,
}

impl SpatialOp {
    /// Every spatial function.
    pub const ALL: [SpatialOp; 8] = [
        SpatialOp::Intersects,
        SpatialOp::Equals,
        SpatialOp::Disjoint,
        SpatialOp::Touches,
        SpatialOp::Within,
        SpatialOp::Overlaps,
        SpatialOp::Crosses,
        SpatialOp::Contains,
    ];

    /// The function's name as written in CQL2 text (`S_INTERSECTS`); CQL2 JSON writes it in
    /// lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            SpatialOp::Intersects => "S_INTERSECTS",
            SpatialOp::Equals => "S_EQUALS",
            SpatialOp::Disjoint => "S_DISJOINT",
            SpatialOp::Touches => "S_TOUCHES",
            SpatialOp::Within => "S_WITHIN",
            SpatialOp::Overlaps => "S_OVERLAPS",
            SpatialOp::Crosses => "S_CROSSES",
            SpatialOp::Contains => "S_CONTAINS",
        }
    }

    /// The function named `name`, in any case.
    fn named(name: &str) -> Option<SpatialOp> {
        SpatialOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(name))
    }

    /// The function with its arguments swapped: `S_WITHIN(a, b)` is `S_CONTAINS(b, a)`; the
    /// others are symmetric.
    fn flipped(self) -> SpatialOp {
        match self {
            SpatialOp::Within => SpatialOp::Contains,
            SpatialOp::Contains => SpatialOp::Within,
            other => other,
        }
    }

    /// Whether the function holds between `a` and `b`, in that order (`None`: unknown). Boxes
    /// that do not meet settle it without the intersection matrix.
    fn holds(self, a: &Geometry<f64>, a_box: Option<Rect<f64>>, b: &Geometry<f64>) -> Option<bool> {
        let (Some(a_box), Some(b_box)) = (a_box, b.bounding_rect()) else {
            // An empty geometry has no point in common with anything.
            return Some(self == SpatialOp::Disjoint);
        };
        if !a_box.intersects(&b_box) {
            return Some(self == SpatialOp::Disjoint);
        }
        // Literals are validated when parsed and footprints are valid polygons; should geo still
        // panic on some input, the answer is unknown rather than a failed request.
        let relate = || {
            if self == SpatialOp::Intersects {
                return Ok(a.intersects(b));
            }
            Err(a.relate(b))
        };
        let m = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(relate)) {
            Ok(Ok(intersects)) => return Some(intersects),
            Ok(Err(m)) => m,
            Err(_) => return None,
        };
        Some(match self {
            SpatialOp::Intersects => m.is_intersects(),
            SpatialOp::Equals => m.is_equal_topo(),
            SpatialOp::Disjoint => m.is_disjoint(),
            SpatialOp::Touches => m.is_touches(),
            SpatialOp::Within => m.is_within(),
            SpatialOp::Overlaps => m.is_overlaps(),
            SpatialOp::Crosses => m.is_crosses(),
            SpatialOp::Contains => m.is_contains(),
        })
    }
}

impl fmt::Display for SpatialOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a filter is evaluated against: a feature's properties and, for spatial functions, its
/// geometry.
pub trait Feature {
    /// The property's value as JSON, `None` (or `Some(Value::Null)`) when absent.
    fn property(&self, name: &str) -> Option<Value>;

    /// The geometry of the geometry queryable `name`, `None` when the feature has none (a
    /// spatial function on it is then unknown).
    fn geometry(&self, _name: &str) -> Option<&Geometry<f64>> {
        None
    }

    /// A box that surely covers [`Feature::geometry`], which may be cheaper to know than the
    /// geometry itself: a feature whose box misses a literal's is settled without its geometry.
    fn envelope(&self, name: &str) -> Option<Rect<f64>> {
        self.geometry(name).and_then(|g| g.bounding_rect())
    }
}

/// A feature of properties alone, read through a closure.
struct Properties<'a>(&'a dyn Fn(&str) -> Option<Value>);

impl Feature for Properties<'_> {
    fn property(&self, name: &str) -> Option<Value> {
        (self.0)(name)
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
}

/// A literal value in a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A character string.
    String(String),
    /// A finite number.
    Number(f64),
    /// `TRUE` or `FALSE`.
    Boolean(bool),
    /// `TIMESTAMP('…')`, converted to UTC.
    Timestamp(DateTime<Utc>),
    /// `DATE('…')`, which compares as the start of the day in UTC.
    Date(NaiveDate),
}

/// The type of a queryable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryableType {
    /// A JSON string compared by Unicode code points.
    String,
    /// A JSON number compared numerically.
    Number,
    /// A JSON boolean, compared only with `=` and `<>`.
    Boolean,
    /// A JSON string holding an RFC 3339 timestamp or a date, compared as an instant.
    Timestamp,
    /// The feature's geometry, tested only with the spatial functions (`S_INTERSECTS`, …).
    Geometry,
}

/// Why a filter could not be parsed or does not fit the queryables; `Display` is one sentence naming the position (character offset) and the offending token or property, suitable for an RFC 9457 problem detail.
///
/// Positions are 0-based offsets in Unicode characters (not bytes) into the filter text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The filter has no tokens at all.
    #[error(
        "the filter is empty at character offset 0; give a CQL2 text expression such as status = 'cleared'"
    )]
    Empty,
    /// The filter has more than [`MAX_CHARS`] characters.
    #[error(
        "the filter exceeds the limit of {limit} characters at character offset {limit}, being {length} characters long"
    )]
    TooLong {
        /// The filter's length in characters.
        length: usize,
        /// The limit, [`MAX_CHARS`].
        limit: usize,
    },
    /// The filter has more than [`MAX_TOKENS`] tokens.
    #[error(
        "the filter has more than {limit} tokens, the limit being exceeded at character offset {position}"
    )]
    TooManyTokens {
        /// Where the first token over the limit starts.
        position: usize,
        /// The limit, [`MAX_TOKENS`].
        limit: usize,
    },
    /// Parentheses and `NOT` are nested more than [`MAX_DEPTH`] levels deep.
    #[error(
        "the filter nests parentheses and NOT more than {limit} levels deep at character offset {position}"
    )]
    TooDeep {
        /// Where the level over the limit opens.
        position: usize,
        /// The limit, [`MAX_DEPTH`].
        limit: usize,
    },
    /// A string literal has no closing quote.
    #[error(
        "the string literal starting at character offset {position} is not terminated by a closing quote (')"
    )]
    UnterminatedString {
        /// Where the opening quote is.
        position: usize,
    },
    /// A double-quoted property name has no closing double quote.
    #[error(
        "the quoted property name starting at character offset {position} is not terminated by a closing double quote (\")"
    )]
    UnterminatedName {
        /// Where the opening double quote is.
        position: usize,
    },
    /// A character that starts no CQL2 token.
    #[error("the character '{character}' at character offset {position} is not valid in CQL2 text")]
    UnexpectedCharacter {
        /// Where the character is.
        position: usize,
        /// The character.
        character: char,
    },
    /// A token where the grammar expects something else.
    #[error("unexpected {found} at character offset {position}, where {expected} was expected")]
    UnexpectedToken {
        /// Where the token starts.
        position: usize,
        /// The token as written (quoted, possibly shortened).
        found: String,
        /// What the grammar expects there.
        expected: String,
    },
    /// The filter ends where the grammar expects more.
    #[error("the filter ends at character offset {position}, where {expected} was expected")]
    UnexpectedEnd {
        /// The filter's length in characters.
        position: usize,
        /// What the grammar expects there.
        expected: String,
    },
    /// An opening parenthesis that is never closed.
    #[error("the '(' at character offset {position} is never closed by a ')'")]
    UnclosedParenthesis {
        /// Where the `(` is.
        position: usize,
    },
    /// A closing parenthesis without an opening one.
    #[error("the ')' at character offset {position} has no matching '('")]
    UnmatchedParenthesis {
        /// Where the `)` is.
        position: usize,
    },
    /// A property that is not one of the collection's queryables.
    #[error(
        "the property '{name}' at character offset {position} is not a queryable of this collection ({known})"
    )]
    UnknownProperty {
        /// Where the name starts.
        position: usize,
        /// The name as given.
        name: String,
        /// The queryables, listed for the reader.
        known: String,
    },
    /// A literal whose type does not fit the property it is compared with.
    #[error(
        "the literal {literal} at character offset {position} is {found}, but the property '{property}' is {}",
        type_with_hint(*.expected)
    )]
    TypeMismatch {
        /// Where the literal starts.
        position: usize,
        /// The property's name.
        property: String,
        /// The literal as written (possibly shortened).
        literal: String,
        /// The literal's type, with an article ("a number").
        found: &'static str,
        /// The property's type.
        expected: QueryableType,
    },
    /// An ordering comparison on a boolean property.
    #[error(
        "the operator {op} at character offset {position} cannot compare the property '{property}', which is {kind}; only = and <> apply to it"
    )]
    OperatorNotAllowed {
        /// Where the operator is.
        position: usize,
        /// The operator.
        op: CompareOp,
        /// The property's name.
        property: String,
        /// The property's type.
        kind: QueryableType,
    },
    /// A CQL2 construct beyond Basic CQL2.
    #[error(
        "{token} at character offset {position} is not supported: {feature} is outside what this server implements (=, <>, <, >, <=, >=, [NOT] LIKE, [NOT] BETWEEN, [NOT] IN, IS [NOT] NULL, AND, OR, NOT)"
    )]
    Unsupported {
        /// Where the token starts.
        position: usize,
        /// The token as written (quoted, possibly shortened).
        token: String,
        /// The construct, such as "the LIKE predicate" or "arithmetic".
        feature: &'static str,
    },
    /// A number that is malformed or not finite.
    #[error("the number '{text}' at character offset {position} is not a valid finite number")]
    InvalidNumber {
        /// Where the number starts.
        position: usize,
        /// The number as written.
        text: String,
    },
    /// A `DATE(…)` or `TIMESTAMP(…)` whose string is not a valid instant.
    #[error(
        "the {kind} literal '{text}' at character offset {position} is not valid; write {format}"
    )]
    InvalidInstant {
        /// Where the string starts.
        position: usize,
        /// `DATE` or `TIMESTAMP`.
        kind: &'static str,
        /// The string's content (possibly shortened).
        text: String,
        /// An example of the expected form.
        format: &'static str,
    },
    /// A comparison between two properties, which Basic CQL2 does not have.
    #[error(
        "the property '{right}' at character offset {position} is compared with the property '{left}', but Basic CQL2 compares a property only with a literal"
    )]
    PropertyComparison {
        /// Where the second property starts.
        position: usize,
        /// The first property.
        left: String,
        /// The second property.
        right: String,
    },
    /// A comparison between two literals.
    #[error(
        "the comparison at character offset {position} has a literal on both sides, but one side must be a queryable property"
    )]
    NoProperty {
        /// Where the second literal starts.
        position: usize,
    },
    /// A property used as a predicate on its own.
    #[error(
        "the property '{property}' at character offset {position} is not a predicate on its own; compare it with =, <>, <, >, <=, >= or test it with IS NULL"
    )]
    BareProperty {
        /// Where the name starts.
        position: usize,
        /// The property's name.
        property: String,
    },
    /// `NULL` used as a value.
    #[error(
        "NULL at character offset {position} is not a value that can be compared; use IS NULL or IS NOT NULL"
    )]
    NullLiteral {
        /// Where `NULL` is.
        position: usize,
    },
    /// A spatial function given a property that is not a geometry.
    #[error(
        "the property '{property}' at character offset {position} is {kind}, but a spatial function compares geometries: give the geometry property{geometries} and a geometry literal"
    )]
    NotGeometry {
        /// Where the name starts.
        position: usize,
        /// The property's name.
        property: String,
        /// Its type.
        kind: QueryableType,
        /// The geometry queryables, listed for the reader (" ('geometry')").
        geometries: String,
    },
    /// A geometry literal that is well formed but not a geometry (an open ring, a box turned
    /// inside out).
    #[error("the {tag} at character offset {position} is not a valid geometry: {reason}")]
    InvalidGeometry {
        /// Where the literal (or its faulty part) starts.
        position: usize,
        /// The literal's tag, such as `POLYGON`.
        tag: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `property = value` for a queryable given as a query parameter (Part 3's
/// queryables-query-parameters): `value` is read as the queryable's type (a number, `true` or
/// `false`, an RFC 3339 time or a date); the error is one sentence naming what was expected.
pub fn equals(property: &str, kind: QueryableType, value: &str) -> Result<Expr, String> {
    let literal = match kind {
        QueryableType::String => Literal::String(value.to_string()),
        QueryableType::Number => match value.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Literal::Number(n),
            _ => return Err(format!("{value:?} is not a number")),
        },
        QueryableType::Boolean => match value.trim() {
            "true" => Literal::Boolean(true),
            "false" => Literal::Boolean(false),
            _ => return Err(format!("{value:?} is not true or false")),
        },
        QueryableType::Geometry => {
            return Err(
                "the geometry is selected with bbox or a spatial function in filter, such as S_INTERSECTS(geometry, BBOX(36.0, 49.8, 36.2, 50.0))"
                    .to_string(),
            );
        }
        QueryableType::Timestamp => {
            if let Some(d) = parse_date(value.trim()) {
                Literal::Date(d)
            } else if let Ok(t) = DateTime::parse_from_rfc3339(value.trim()) {
                Literal::Timestamp(t.with_timezone(&Utc))
            } else {
                return Err(format!(
                    "{value:?} is not an RFC 3339 time (2026-10-01T00:00:00Z) or a date (2026-10-01)"
                ));
            }
        }
    };
    Ok(Expr::Compare {
        property: property.to_string(),
        op: CompareOp::Eq,
        value: literal,
    })
}

/// Parses CQL2 text; every property named must be one of `queryables` (name, type) and literals must fit the property's type (e.g. status = 5 is an error when status is a String).
pub fn parse(text: &str, queryables: &[(&str, QueryableType)]) -> Result<Expr, FilterError> {
    let length = text.chars().count();
    if length > MAX_CHARS {
        return Err(FilterError::TooLong {
            length,
            limit: MAX_CHARS,
        });
    }
    let chars: Vec<char> = text.chars().collect();
    let tokens = lex(&chars)?;
    if tokens.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
        end: length,
        queryables,
    };
    let expr = parser.parse_or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) if token.tok == Tok::RParen => Err(FilterError::UnmatchedParenthesis {
            position: token.position,
        }),
        Some(_) => Err(parser.unexpected(parser.next, "AND, OR or the end of the filter")),
    }
}

/// Evaluates against one feature; `get` returns the property's value as JSON (serde_json::Value) or None/Null when absent.
///
/// The feature is selected only when the filter is true; false and unknown both reject it.
/// Spatial functions are unknown here, there being no geometry: use [`eval_feature`] for them.
pub fn eval(expr: &Expr, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    truth(expr, &Properties(get)) == Some(true)
}

/// Evaluates against a feature with its geometry; the feature is selected only when the filter
/// is true.
pub fn eval_feature(expr: &Expr, feature: &dyn Feature) -> bool {
    truth(expr, feature) == Some(true)
}

impl FilterError {
    /// The 0-based character offset the error refers to.
    pub fn position(&self) -> usize {
        match self {
            FilterError::Empty => 0,
            FilterError::TooLong { limit, .. } => *limit,
            FilterError::TooManyTokens { position, .. }
            | FilterError::TooDeep { position, .. }
            | FilterError::UnterminatedString { position }
            | FilterError::UnterminatedName { position }
            | FilterError::UnexpectedCharacter { position, .. }
            | FilterError::UnexpectedToken { position, .. }
            | FilterError::UnexpectedEnd { position, .. }
            | FilterError::UnclosedParenthesis { position }
            | FilterError::UnmatchedParenthesis { position }
            | FilterError::UnknownProperty { position, .. }
            | FilterError::TypeMismatch { position, .. }
            | FilterError::OperatorNotAllowed { position, .. }
            | FilterError::Unsupported { position, .. }
            | FilterError::InvalidNumber { position, .. }
            | FilterError::InvalidInstant { position, .. }
            | FilterError::PropertyComparison { position, .. }
            | FilterError::NoProperty { position }
            | FilterError::BareProperty { position, .. }
            | FilterError::NullLiteral { position }
            | FilterError::NotGeometry { position, .. }
            | FilterError::InvalidGeometry { position, .. } => *position,
        }
    }
}

impl CompareOp {
    /// The operator as written in CQL2 text.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped, so that `5 < x` becomes `x > 5`.
    fn flipped(self) -> CompareOp {
        match self {
            CompareOp::Eq => CompareOp::Eq,
            CompareOp::Ne => CompareOp::Ne,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Ge => CompareOp::Le,
        }
    }

    /// Whether the operator holds for `left` ordered `ordering` relative to `right`.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Le => ordering != Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl QueryableType {
    /// The type's name with an article, as used in messages ("a string").
    pub fn describe(self) -> &'static str {
        match self {
            QueryableType::String => "a string",
            QueryableType::Number => "a number",
            QueryableType::Boolean => "a boolean",
            QueryableType::Timestamp => "a timestamp",
            QueryableType::Geometry => "a geometry",
        }
    }
}

impl fmt::Display for QueryableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl Literal {
    /// The literal's type name with an article, as used in messages.
    fn describe(&self) -> &'static str {
        match self {
            Literal::String(_) => "a string",
            Literal::Number(_) => "a number",
            Literal::Boolean(_) => "a boolean",
            Literal::Timestamp(_) => "a timestamp",
            Literal::Date(_) => "a date",
        }
    }

    /// Whether the literal may be compared with a property of type `kind`.
    fn fits(&self, kind: QueryableType) -> bool {
        matches!(
            (self, kind),
            (Literal::String(_), QueryableType::String)
                | (Literal::Number(_), QueryableType::Number)
                | (Literal::Boolean(_), QueryableType::Boolean)
                | (Literal::Timestamp(_), QueryableType::Timestamp)
                | (Literal::Date(_), QueryableType::Timestamp)
        )
    }
}

/// Writes the literal as CQL2 text that parses back to the same literal.
impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Boolean(true) => f.write_str("TRUE"),
            Literal::Boolean(false) => f.write_str("FALSE"),
            Literal::Timestamp(t) => write!(
                f,
                "TIMESTAMP('{}')",
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
            Literal::Date(d) => write!(f, "DATE('{}')", d.format("%Y-%m-%d")),
        }
    }
}

/// Writes the expression as canonical CQL2 text that parses back to the same expression.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(true) => f.write_str("TRUE"),
            Expr::Literal(false) => f.write_str("FALSE"),
            Expr::And(operands) => write_junction(f, operands, " AND ", "TRUE"),
            Expr::Or(operands) => write_junction(f, operands, " OR ", "FALSE"),
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                write_operand(f, inner)
            }
            Expr::Compare {
                property,
                op,
                value,
            } => {
                write_property(f, property)?;
                write!(f, " {op} {value}")
            }
            Expr::IsNull { property, negated } => {
                write_property(f, property)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            Expr::Like {
                property,
                pattern,
                negated,
            } => {
                write_property(f, property)?;
                f.write_str(if *negated { " NOT LIKE " } else { " LIKE " })?;
                write!(f, "{}", Literal::String(pattern.clone()))
            }
            Expr::Spatial {
                op,
                property,
                geometry,
            } => {
                write!(f, "{op}(")?;
                write_property(f, property)?;
                f.write_str(", ")?;
                write_wkt(f, geometry)?;
                f.write_str(")")
            }
        }
    }
}

/// Writes a geometry literal as CQL2 text (WKT, or `BBOX(…)` for a box) that parses back to the
/// same geometry.
fn write_wkt(f: &mut fmt::Formatter<'_>, g: &Geometry<f64>) -> fmt::Result {
    fn coords(f: &mut fmt::Formatter<'_>, line: &LineString<f64>) -> fmt::Result {
        if line.0.is_empty() {
            return f.write_str("EMPTY");
        }
        f.write_str("(")?;
        for (i, c) in line.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", c.x, c.y)?;
        }
        f.write_str(")")
    }
    fn polygon(f: &mut fmt::Formatter<'_>, p: &Polygon<f64>) -> fmt::Result {
        f.write_str("(")?;
        coords(f, p.exterior())?;
        for hole in p.interiors() {
            f.write_str(", ")?;
            coords(f, hole)?;
        }
        f.write_str(")")
    }
    fn list<T>(
        f: &mut fmt::Formatter<'_>,
        items: &[T],
        each: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
    ) -> fmt::Result {
        f.write_str("(")?;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            each(f, item)?;
        }
        f.write_str(")")
    }
    match g {
        Geometry::Point(p) => write!(f, "POINT({} {})", p.x(), p.y()),
        Geometry::Line(l) => {
            f.write_str("LINESTRING")?;
            coords(f, &LineString::from(vec![l.start, l.end]))
        }
        Geometry::LineString(l) => {
            f.write_str("LINESTRING")?;
            coords(f, l)
        }
        Geometry::Polygon(p) => {
            f.write_str("POLYGON")?;
            polygon(f, p)
        }
        Geometry::Triangle(t) => {
            f.write_str("POLYGON")?;
            polygon(f, &t.to_polygon())
        }
        Geometry::MultiPoint(m) => {
            f.write_str("MULTIPOINT")?;
            list(f, &m.0, |f, p| write!(f, "({} {})", p.x(), p.y()))
        }
        Geometry::MultiLineString(m) => {
            f.write_str("MULTILINESTRING")?;
            list(f, &m.0, coords)
        }
        Geometry::MultiPolygon(m) => {
            f.write_str("MULTIPOLYGON")?;
            list(f, &m.0, polygon)
        }
        Geometry::GeometryCollection(c) => {
            f.write_str("GEOMETRYCOLLECTION")?;
            list(f, &c.0, write_wkt)
        }
        Geometry::Rect(r) => write!(
            f,
            "BBOX({}, {}, {}, {})",
            r.min().x,
            r.min().y,
            r.max().x,
            r.max().y
        ),
    }
}

/// Writes `AND` or `OR` operands, or `empty` when there are none.
fn write_junction(
    f: &mut fmt::Formatter<'_>,
    operands: &[Expr],
    separator: &str,
    empty: &str,
) -> fmt::Result {
    if operands.is_empty() {
        return f.write_str(empty);
    }
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_operand(f, operand)?;
    }
    Ok(())
}

/// Writes an operand of `AND`, `OR` or `NOT`, in parentheses when it is itself a junction.
fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Expr) -> fmt::Result {
    match operand {
        Expr::And(_) | Expr::Or(_) => write!(f, "({operand})"),
        _ => write!(f, "{operand}"),
    }
}

/// Writes a property name, double-quoted unless it is a plain identifier and no keyword.
fn write_property(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(is_identifier_start)
        && chars.all(is_identifier_part)
        && !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(name));
    if plain {
        f.write_str(name)
    } else {
        write!(f, "\"{name}\"")
    }
}

/// The words that cannot be unquoted property names (the geometry tags could be, but are
/// quoted so that no reader takes a property for a literal).
const RESERVED: [&str; 20] = [
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "LIKE",
    "BETWEEN",
    "IN",
    "DIV",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "BBOX",
    "EMPTY",
];

/// Checks a geometry literal with geo's validation (rings that cross themselves or each other,
/// holes outside their polygon, lines of one distinct point), which the intersection matrix
/// needs: refused up front rather than evaluated wrongly.
fn valid(g: &Geometry<f64>) -> Result<(), String> {
    g.check_validation().map_err(|e| e.to_string())
}

/// The tags of CQL2's geometry literals (`spatialInstance`).
const GEOMETRY_TAGS: [&str; 8] = [
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "BBOX",
];

/// The most queryables listed in an error message.
const MAX_LISTED: usize = 20;

/// The longest token quoted in an error message, in characters.
const MAX_QUOTED: usize = 40;

/// The type's name followed by a hint on how to write a fitting literal.
fn type_with_hint(kind: QueryableType) -> &'static str {
    match kind {
        QueryableType::String => "a string (write a literal such as 'text')",
        QueryableType::Number => "a number (write a literal such as 42 or -1.5)",
        QueryableType::Boolean => "a boolean (write TRUE or FALSE)",
        QueryableType::Timestamp => {
            "a timestamp (write TIMESTAMP('2026-10-01T00:00:00Z') or DATE('2026-10-01'))"
        }
        QueryableType::Geometry => {
            "a geometry (test it with a spatial function such as S_INTERSECTS(geometry, POINT(36.1 49.9)))"
        }
    }
}

/// Shortens `text` to at most [`MAX_QUOTED`] characters for an error message.
fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(MAX_QUOTED - 1).collect();
        short.push('…');
        short
    }
}

/// Whether `c` may start an unquoted property name or keyword.
fn is_identifier_start(c: char) -> bool {
    c == ':' || c == '_' || c.is_alphabetic()
}

/// Whether `c` may continue an unquoted property name or keyword.
fn is_identifier_part(c: char) -> bool {
    is_identifier_start(c)
        || c == '.'
        || c.is_ascii_digit()
        || ('\u{0300}'..='\u{036F}').contains(&c)
        || ('\u{203F}'..='\u{2040}').contains(&c)
}

/// A lexical token.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An unquoted identifier, which is a keyword, a function name or a property name.
    Word(String),
    /// A double-quoted property name, without the quotes.
    Name(String),
    /// A string literal, unescaped.
    Str(String),
    /// An unsigned number as written.
    Num(String),
    /// A comparison operator.
    Op(CompareOp),
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// Any other punctuation: `+ - * / % ^ , [ ] !=`.
    Punct,
}

/// A token with its position and source text.
#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// The 0-based character offset of the token's first character.
    position: usize,
    /// The token as written.
    text: String,
}

impl Token {
    /// The token as quoted in an error message.
    fn quoted(&self) -> String {
        match self.tok {
            Tok::Str(_) | Tok::Name(_) => shorten(&self.text),
            _ => format!("'{}'", shorten(&self.text)),
        }
    }

    /// Whether the token is the keyword `keyword` (given in upper case).
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Splits the filter into tokens.
fn lex(chars: &[char]) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if tokens.len() >= MAX_TOKENS {
            return Err(FilterError::TooManyTokens {
                position: i,
                limit: MAX_TOKENS,
            });
        }
        let start = i;
        let next = chars.get(i + 1).copied();
        let tok = match c {
            '\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (None, _) => {
                            return Err(FilterError::UnterminatedString { position: start });
                        }
                        (Some('\''), Some('\'')) => {
                            value.push('\'');
                            i += 2;
                        }
                        (Some('\''), _) => {
                            i += 1;
                            break;
                        }
                        (Some(&other), _) => {
                            value.push(other);
                            i += 1;
                        }
                    }
                }
                Tok::Str(value)
            }
            '"' => {
                i += 1;
                let mut name = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError::UnterminatedName { position: start }),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            name.push(other);
                            i += 1;
                        }
                    }
                }
                Tok::Name(name)
            }
            '0'..='9' | '.' if c != '.' || next.is_some_and(|n| n.is_ascii_digit()) => {
                i = scan_number(chars, i);
                Tok::Num(chars[start..i].iter().collect())
            }
            '=' => {
                i += 1;
                Tok::Op(CompareOp::Eq)
            }
            '<' => match next {
                Some('=') => {
                    i += 2;
                    Tok::Op(CompareOp::Le)
                }
                Some('>') => {
                    i += 2;
                    Tok::Op(CompareOp::Ne)
                }
                _ => {
                    i += 1;
                    Tok::Op(CompareOp::Lt)
                }
            },
            '>' => {
                if next == Some('=') {
                    i += 2;
                    Tok::Op(CompareOp::Ge)
                } else {
                    i += 1;
                    Tok::Op(CompareOp::Gt)
                }
            }
            '!' if next == Some('=') => {
                return Err(FilterError::UnexpectedToken {
                    position: start,
                    found: "'!='".to_string(),
                    expected: "a comparison operator (CQL2 writes 'not equal' as <>)".to_string(),
                });
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '+' | '-' | '*' | '/' | '%' | '^' | ',' | '[' | ']' => {
                i += 1;
                Tok::Punct
            }
            c if is_identifier_start(c) => {
                while chars.get(i).is_some_and(|&p| is_identifier_part(p)) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            _ => {
                return Err(FilterError::UnexpectedCharacter {
                    position: start,
                    character: c,
                });
            }
        };
        tokens.push(Token {
            tok,
            position: start,
            text: chars[start..i].iter().collect(),
        });
    }
    Ok(tokens)
}

/// Returns the end of the unsigned number starting at `i`: digits, an optional fraction and an
/// optional exponent (taken only when digits follow the `E` and its sign).
fn scan_number(chars: &[char], mut i: usize) -> usize {
    let digit = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_digit());
    while digit(i) {
        i += 1;
    }
    if chars.get(i) == Some(&'.') {
        i += 1;
        while digit(i) {
            i += 1;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
        if digit(i + 1 + sign) {
            i += 1 + sign;
            while digit(i) {
                i += 1;
            }
        }
    }
    i
}

/// One side of a comparison.
enum Operand {
    /// A queryable property.
    Property {
        name: String,
        kind: QueryableType,
        position: usize,
    },
    /// A literal.
    Literal {
        value: Literal,
        position: usize,
        text: String,
    },
}

/// An argument of a spatial function, with where it starts.
enum GeometryArgument {
    /// A queryable of type geometry.
    Property(String, usize),
    /// A geometry literal.
    Literal(Geometry<f64>, usize),
}

/// A recursive-descent parser over the tokens.
struct Parser<'q, 'n> {
    tokens: Vec<Token>,
    /// The index of the next token.
    next: usize,
    /// The current nesting of parentheses and `NOT`.
    depth: usize,
    /// The filter's length in characters, the position reported at its end.
    end: usize,
    queryables: &'q [(&'n str, QueryableType)],
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(keyword))
    }

    fn advance(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    /// Enters one more level of nesting opened at `position`.
    fn enter(&mut self, position: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooDeep {
                position,
                limit: MAX_DEPTH,
            });
        }
        Ok(())
    }

    /// The error for the token at `index` (or the end of the filter) where `expected` was expected,
    /// naming unsupported CQL2 constructs as such.
    fn unexpected(&self, index: usize, expected: &str) -> FilterError {
        let Some(token) = self.tokens.get(index) else {
            return FilterError::UnexpectedEnd {
                position: self.end,
                expected: expected.to_string(),
            };
        };
        if token.is_keyword("NOT")
            && let Some(following) = self.tokens.get(index + 1)
            && let Some(feature) = unsupported_predicate(following)
        {
            return FilterError::Unsupported {
                position: following.position,
                token: following.quoted(),
                feature,
            };
        }
        if let Some(feature) = unsupported_predicate(token) {
            return FilterError::Unsupported {
                position: token.position,
                token: token.quoted(),
                feature,
            };
        }
        FilterError::UnexpectedToken {
            position: token.position,
            found: token.quoted(),
            expected: expected.to_string(),
        }
    }

    /// `booleanExpression = booleanTerm { "OR" booleanTerm }`.
    fn parse_or(&mut self) -> Result<Expr, FilterError> {
        let first = self.parse_and()?;
        if !self.peek_keyword("OR") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_keyword("OR") {
            self.next += 1;
            operands.push(self.parse_and()?);
        }
        Ok(Expr::Or(operands))
    }

    /// `booleanTerm = booleanFactor { "AND" booleanFactor }`.
    fn parse_and(&mut self) -> Result<Expr, FilterError> {
        let first = self.parse_not()?;
        if !self.peek_keyword("AND") {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek_keyword("AND") {
            self.next += 1;
            operands.push(self.parse_not()?);
        }
        Ok(Expr::And(operands))
    }

    /// `booleanFactor = ["NOT"] booleanPrimary`, allowing `NOT` to repeat.
    fn parse_not(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.peek() else {
            return Err(self.unexpected(self.next, "a predicate"));
        };
        if !token.is_keyword("NOT") {
            return self.parse_primary();
        }
        let position = token.position;
        self.next += 1;
        self.enter(position)?;
        let inner = self.parse_not()?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    /// `booleanPrimary = predicate | booleanLiteral | "(" booleanExpression ")"`.
    fn parse_primary(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.peek() else {
            return Err(self.unexpected(self.next, "a predicate"));
        };
        if token.tok != Tok::LParen {
            return self.parse_predicate();
        }
        let open = token.position;
        self.next += 1;
        self.enter(open)?;
        let inner = self.parse_or()?;
        match self.peek().map(|t| &t.tok) {
            Some(Tok::RParen) => self.next += 1,
            None => return Err(FilterError::UnclosedParenthesis { position: open }),
            Some(_) => return Err(self.unexpected(self.next, "AND, OR or ')'")),
        }
        self.depth -= 1;
        Ok(inner)
    }

    /// A comparison, an `IS [NOT] NULL` test, a spatial function or a stand-alone boolean
    /// literal.
    fn parse_predicate(&mut self) -> Result<Expr, FilterError> {
        if let Some(Token {
            tok: Tok::Word(word),
            ..
        }) = self.peek()
            && let Some(op) = SpatialOp::named(word)
            && self
                .tokens
                .get(self.next + 1)
                .is_some_and(|t| t.tok == Tok::LParen)
        {
            return self.parse_spatial(op);
        }
        let left = self.parse_operand("a predicate")?;
        let op = match self.peek() {
            Some(Token {
                tok: Tok::Op(op),
                position,
                ..
            }) => Some((*op, *position)),
            _ => None,
        };
        match left {
            Operand::Property {
                name,
                kind,
                position,
            } => {
                if let Some((op, op_position)) = op {
                    self.next += 1;
                    let right = self.parse_operand("a literal")?;
                    return match right {
                        Operand::Literal {
                            value,
                            position,
                            text,
                        } => comparison(name, kind, op, op_position, value, position, text),
                        Operand::Property {
                            name: right,
                            position,
                            ..
                        } => Err(FilterError::PropertyComparison {
                            position,
                            left: name,
                            right,
                        }),
                    };
                }
                if let Some(expr) = self.advanced(&name, kind)? {
                    return Ok(expr);
                }
                if self.peek_keyword("IS") {
                    self.next += 1;
                    let negated = self.peek_keyword("NOT");
                    if negated {
                        self.next += 1;
                    }
                    if !self.peek_keyword("NULL") {
                        return Err(self.unexpected(self.next, "NULL"));
                    }
                    self.next += 1;
                    return Ok(Expr::IsNull {
                        property: name,
                        negated,
                    });
                }
                let at_boundary = match self.peek() {
                    None => true,
                    Some(t) => t.tok == Tok::RParen || t.is_keyword("AND") || t.is_keyword("OR"),
                };
                if at_boundary {
                    return Err(FilterError::BareProperty {
                        position,
                        property: name,
                    });
                }
                Err(self.unexpected(self.next, "a comparison operator or IS [NOT] NULL"))
            }
            Operand::Literal {
                value,
                position,
                text,
            } => {
                let Some((op, op_position)) = op else {
                    if let Literal::Boolean(b) = value {
                        return Ok(Expr::Literal(b));
                    }
                    return Err(self.unexpected(self.next, "a comparison operator"));
                };
                self.next += 1;
                let right = self.parse_operand("a property")?;
                match right {
                    // The operator is checked as written and then turned to put the property
                    // first.
                    Operand::Property { name, kind, .. } => {
                        let expr = comparison(name, kind, op, op_position, value, position, text)?;
                        Ok(match expr {
                            Expr::Compare {
                                property,
                                op,
                                value,
                            } => Expr::Compare {
                                property,
                                op: op.flipped(),
                                value,
                            },
                            other => other,
                        })
                    }
                    Operand::Literal {
                        position: second, ..
                    } => Err(FilterError::NoProperty { position: second }),
                }
            }
        }
    }

    /// After a property: `[NOT] LIKE 'pattern'`, `[NOT] BETWEEN a AND b` or `[NOT] IN (a, …)`
    /// (the advanced comparison operators of CQL2), if one follows; `None` if none does.
    fn advanced(&mut self, name: &str, kind: QueryableType) -> Result<Option<Expr>, FilterError> {
        let predicate = |t: Option<&Token>| {
            t.is_some_and(|t| t.is_keyword("LIKE") || t.is_keyword("BETWEEN") || t.is_keyword("IN"))
        };
        let negated = self.peek_keyword("NOT") && predicate(self.tokens.get(self.next + 1));
        if !negated && !predicate(self.peek()) {
            return Ok(None);
        }
        if negated {
            self.next += 1;
        }
        let keyword = self
            .advance()
            .map(|t| (t.text.to_ascii_uppercase(), t.position));
        let Some((keyword, keyword_position)) = keyword else {
            return Err(self.unexpected(self.next, "LIKE, BETWEEN or IN"));
        };
        let wrap = |e: Expr| if negated { Expr::Not(Box::new(e)) } else { e };
        let literal =
            |parser: &mut Self, expected: &str| -> Result<(Literal, usize, String), FilterError> {
                match parser.parse_operand(expected)? {
                    Operand::Literal {
                        value,
                        position,
                        text,
                    } => Ok((value, position, text)),
                    Operand::Property {
                        name: right,
                        position,
                        ..
                    } => Err(FilterError::PropertyComparison {
                        position,
                        left: name.to_string(),
                        right,
                    }),
                }
            };
        match keyword.as_str() {
            "LIKE" => {
                let (value, position, text) = literal(self, "a pattern string")?;
                let Literal::String(pattern) = value else {
                    return Err(FilterError::TypeMismatch {
                        position,
                        property: name.to_string(),
                        literal: shorten(&text),
                        found: value.describe(),
                        expected: QueryableType::String,
                    });
                };
                if kind != QueryableType::String {
                    return Err(FilterError::TypeMismatch {
                        position,
                        property: name.to_string(),
                        literal: shorten(&text),
                        found: "a pattern string",
                        expected: kind,
                    });
                }
                Ok(Some(Expr::Like {
                    property: name.to_string(),
                    pattern,
                    negated,
                }))
            }
            "BETWEEN" => {
                let (low, low_at, low_text) = literal(self, "the lower bound")?;
                if !self.peek_keyword("AND") {
                    return Err(self.unexpected(self.next, "AND between the bounds"));
                }
                self.next += 1;
                let (high, high_at, high_text) = literal(self, "the upper bound")?;
                let from = comparison(
                    name.to_string(),
                    kind,
                    CompareOp::Ge,
                    keyword_position,
                    low,
                    low_at,
                    low_text,
                )?;
                let to = comparison(
                    name.to_string(),
                    kind,
                    CompareOp::Le,
                    keyword_position,
                    high,
                    high_at,
                    high_text,
                )?;
                Ok(Some(wrap(Expr::And(vec![from, to]))))
            }
            _ => {
                let open = self.next;
                match self.advance() {
                    Some(t) if t.tok == Tok::LParen => {}
                    _ => return Err(self.unexpected(open, "'(' and the list of values")),
                }
                let mut each = Vec::new();
                loop {
                    let (value, at, text) = literal(self, "a value of the list")?;
                    each.push(comparison(
                        name.to_string(),
                        kind,
                        CompareOp::Eq,
                        keyword_position,
                        value,
                        at,
                        text,
                    )?);
                    if each.len() > MAX_TOKENS {
                        return Err(FilterError::TooManyTokens {
                            position: at,
                            limit: MAX_TOKENS,
                        });
                    }
                    match self.advance() {
                        Some(t) if t.tok == Tok::Punct && t.text == "," => continue,
                        Some(t) if t.tok == Tok::RParen => break,
                        _ => return Err(self.unexpected(self.next.saturating_sub(1), "',' or ')'")),
                    }
                }
                let any = if each.len() == 1 {
                    each.remove(0)
                } else {
                    Expr::Or(each)
                };
                Ok(Some(wrap(any)))
            }
        }
    }

    /// A property or a literal, refusing arithmetic right after it.
    fn parse_operand(&mut self, expected: &str) -> Result<Operand, FilterError> {
        let index = self.next;
        let Some(token) = self.advance() else {
            return Err(self.unexpected(index, expected));
        };
        let position = token.position;
        let operand = match &token.tok {
            Tok::Name(name) => self.property(name, position)?,
            Tok::Word(word) => {
                let upper = word.to_ascii_uppercase();
                let call = self.peek().is_some_and(|t| t.tok == Tok::LParen);
                match upper.as_str() {
                    "DATE" | "TIMESTAMP" if call => self.instant(&upper, index)?,
                    _ if call => {
                        return Err(FilterError::Unsupported {
                            position,
                            token: token.quoted(),
                            feature: "a function call",
                        });
                    }
                    "TRUE" | "FALSE" => Operand::Literal {
                        value: Literal::Boolean(upper == "TRUE"),
                        position,
                        text: token.text.clone(),
                    },
                    "NULL" => return Err(FilterError::NullLiteral { position }),
                    "LIKE" | "BETWEEN" | "IN" | "DIV" | "AND" | "OR" | "NOT" | "IS" => {
                        return Err(self.unexpected(index, expected));
                    }
                    _ => self.property(word, position)?,
                }
            }
            Tok::Str(s) => Operand::Literal {
                value: Literal::String(s.clone()),
                position,
                text: token.text.clone(),
            },
            Tok::Num(text) => number(text, position, false)?,
            Tok::Punct if token.text == "+" || token.text == "-" => {
                let negative = token.text == "-";
                match self.peek().map(|t| &t.tok) {
                    Some(Tok::Num(text)) => {
                        let text = text.clone();
                        self.next += 1;
                        number(&text, position, negative)?
                    }
                    _ => return Err(self.unexpected(self.next, "a number after the sign")),
                }
            }
            Tok::Punct if token.text == "[" => {
                return Err(FilterError::Unsupported {
                    position,
                    token: token.quoted(),
                    feature: "an array",
                });
            }
            _ => return Err(self.unexpected(index, expected)),
        };
        if let Some(following) = self.peek() {
            let arithmetic = following.is_keyword("DIV")
                || (following.tok == Tok::Punct
                    && matches!(following.text.as_str(), "+" | "-" | "*" | "/" | "%" | "^"));
            if arithmetic {
                return Err(FilterError::Unsupported {
                    position: following.position,
                    token: following.quoted(),
                    feature: "arithmetic",
                });
            }
        }
        Ok(operand)
    }

    /// `S_…(a, b)`, the function's name being the next token and `(` the one after it.
    fn parse_spatial(&mut self, op: SpatialOp) -> Result<Expr, FilterError> {
        self.next += 2;
        let first = self.geometry_argument()?;
        self.expect_punct(",", "',' between the two arguments")?;
        let second = self.geometry_argument()?;
        match self.peek() {
            Some(t) if t.tok == Tok::RParen => self.next += 1,
            _ => return Err(self.unexpected(self.next, "')' after the second argument")),
        }
        match (first, second) {
            (GeometryArgument::Property(property, _), GeometryArgument::Literal(geometry, _)) => {
                Ok(Expr::Spatial {
                    op,
                    property,
                    geometry,
                })
            }
            (GeometryArgument::Literal(geometry, _), GeometryArgument::Property(property, _)) => {
                Ok(Expr::Spatial {
                    op: op.flipped(),
                    property,
                    geometry,
                })
            }
            (GeometryArgument::Property(left, _), GeometryArgument::Property(right, position)) => {
                Err(FilterError::PropertyComparison {
                    position,
                    left,
                    right,
                })
            }
            (GeometryArgument::Literal(..), GeometryArgument::Literal(_, position)) => {
                Err(FilterError::NoProperty { position })
            }
        }
    }

    /// Consumes the punctuation `punct` (such as `,`) or fails expecting `expected`.
    fn expect_punct(&mut self, punct: &str, expected: &str) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == Tok::Punct && t.text == punct => {
                self.next += 1;
                Ok(())
            }
            _ => Err(self.unexpected(self.next, expected)),
        }
    }

    /// Consumes `(` or fails expecting `expected`.
    fn expect_open(&mut self, expected: &str) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == Tok::LParen => {
                self.next += 1;
                Ok(())
            }
            _ => Err(self.unexpected(self.next, expected)),
        }
    }

    /// Consumes `)` or fails expecting `expected`.
    fn expect_close(&mut self, expected: &str) -> Result<(), FilterError> {
        match self.peek() {
            Some(t) if t.tok == Tok::RParen => {
                self.next += 1;
                Ok(())
            }
            _ => Err(self.unexpected(self.next, expected)),
        }
    }

    /// An argument of a spatial function: the geometry property or a geometry literal.
    fn geometry_argument(&mut self) -> Result<GeometryArgument, FilterError> {
        const EXPECTED: &str = "the geometry property or a geometry literal (POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON, GEOMETRYCOLLECTION or BBOX)";
        let index = self.next;
        let Some(token) = self.peek().cloned() else {
            return Err(self.unexpected(index, EXPECTED));
        };
        let position = token.position;
        let call = self
            .tokens
            .get(index + 1)
            .is_some_and(|t| t.tok == Tok::LParen);
        match &token.tok {
            Tok::Word(w) if GEOMETRY_TAGS.iter().any(|t| t.eq_ignore_ascii_case(w)) => {
                let geometry = self.geometry_literal(false)?;
                if let Err(reason) = valid(&geometry) {
                    return Err(FilterError::InvalidGeometry {
                        position,
                        tag: w.to_ascii_uppercase(),
                        reason,
                    });
                }
                Ok(GeometryArgument::Literal(geometry, position))
            }
            Tok::Word(_) if call => Err(FilterError::Unsupported {
                position,
                token: token.quoted(),
                feature: "a function call",
            }),
            Tok::Word(name) | Tok::Name(name) => {
                self.next += 1;
                let Operand::Property { name, kind, .. } = self.property(name, position)? else {
                    return Err(self.unexpected(index, EXPECTED));
                };
                if kind != QueryableType::Geometry {
                    let geometries: Vec<String> = self
                        .queryables
                        .iter()
                        .filter(|(_, k)| *k == QueryableType::Geometry)
                        .map(|(n, _)| format!("'{n}'"))
                        .collect();
                    return Err(FilterError::NotGeometry {
                        position,
                        property: name,
                        kind,
                        geometries: if geometries.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", geometries.join(", "))
                        },
                    });
                }
                Ok(GeometryArgument::Property(name, position))
            }
            _ => Err(self.unexpected(index, EXPECTED)),
        }
    }

    /// A geometry literal starting with its tag: WKT (with an optional `Z` and third coordinates,
    /// which are dropped) or `BBOX(w, s, e, n)` (or with six numbers, elevations dropped).
    /// `member` is set inside a `GEOMETRYCOLLECTION`, which may hold neither a box nor another
    /// collection.
    fn geometry_literal(&mut self, member: bool) -> Result<Geometry<f64>, FilterError> {
        let index = self.next;
        let token = match self.advance() {
            Some(t) => t,
            None => return Err(self.unexpected(index, "a geometry literal")),
        };
        let tag = token.text.to_ascii_uppercase();
        let position = token.position;
        let allowed = GEOMETRY_TAGS.contains(&tag.as_str())
            && !(member && (tag == "BBOX" || tag == "GEOMETRYCOLLECTION"));
        if !allowed {
            return Err(self.unexpected(
                index,
                "POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING or MULTIPOLYGON",
            ));
        }
        if tag == "BBOX" {
            return self.bbox(position);
        }
        if self.peek_keyword("Z") {
            self.next += 1;
        }
        let open = format!("'(' after {tag}");
        let geometry = match tag.as_str() {
            "POINT" => {
                self.expect_open(&open)?;
                let c = self.coordinate()?;
                self.expect_close("')' after the point's coordinates")?;
                Geometry::Point(Point(c))
            }
            "LINESTRING" => Geometry::LineString(self.line(&tag, 2, false)?),
            "POLYGON" => Geometry::Polygon(self.polygon(&tag)?),
            "MULTIPOINT" => {
                self.expect_open(&open)?;
                let mut points = Vec::new();
                loop {
                    // Each point in parentheses, as CQL2 writes it, or bare, as many WKT writers do.
                    if self.peek().is_some_and(|t| t.tok == Tok::LParen) {
                        self.next += 1;
                        points.push(Point(self.coordinate()?));
                        self.expect_close("')' after the point's coordinates")?;
                    } else {
                        points.push(Point(self.coordinate()?));
                    }
                    if !self.list_goes_on()? {
                        break;
                    }
                }
                Geometry::MultiPoint(MultiPoint(points))
            }
            "MULTILINESTRING" => {
                self.expect_open(&open)?;
                let mut lines = Vec::new();
                loop {
                    lines.push(self.line(&tag, 2, false)?);
                    if !self.list_goes_on()? {
                        break;
                    }
                }
                Geometry::MultiLineString(MultiLineString(lines))
            }
            "MULTIPOLYGON" => {
                self.expect_open(&open)?;
                let mut polygons = Vec::new();
                loop {
                    polygons.push(self.polygon(&tag)?);
                    if !self.list_goes_on()? {
                        break;
                    }
                }
                Geometry::MultiPolygon(MultiPolygon(polygons))
            }
            _ => {
                self.expect_open(&open)?;
                let mut members = Vec::new();
                loop {
                    members.push(self.geometry_literal(true)?);
                    if !self.list_goes_on()? {
                        break;
                    }
                }
                Geometry::GeometryCollection(GeometryCollection(members))
            }
        };
        Ok(geometry)
    }

    /// After an item of a parenthesised list: `true` past a `,`, `false` past the closing `)`.
    fn list_goes_on(&mut self) -> Result<bool, FilterError> {
        match self.peek() {
            Some(t) if t.tok == Tok::Punct && t.text == "," => {
                self.next += 1;
                Ok(true)
            }
            Some(t) if t.tok == Tok::RParen => {
                self.next += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(self.next, "',' or ')'")),
        }
    }

    /// `(x y, x y, …)` with at least `least` points, closed when `ring`; `EMPTY` for a ring.
    fn line(
        &mut self,
        tag: &str,
        least: usize,
        ring: bool,
    ) -> Result<LineString<f64>, FilterError> {
        let position = self.peek().map_or(self.end, |t| t.position);
        if ring && self.peek_keyword("EMPTY") {
            self.next += 1;
            return Ok(LineString(Vec::new()));
        }
        self.expect_open("'(' and the coordinates")?;
        let mut points = Vec::new();
        loop {
            points.push(self.coordinate()?);
            if !self.list_goes_on()? {
                break;
            }
        }
        let invalid = |reason: &str| FilterError::InvalidGeometry {
            position,
            tag: tag.to_string(),
            reason: reason.to_string(),
        };
        if points.len() < least {
            return Err(invalid(if ring {
                "a ring needs at least four points"
            } else {
                "a line needs at least two points"
            }));
        }
        if ring && points.first() != points.last() {
            return Err(invalid(
                "a ring must be closed, its last point the same as its first",
            ));
        }
        Ok(LineString(points))
    }

    /// `(ring, ring, …)`: the outer ring, then any holes.
    fn polygon(&mut self, tag: &str) -> Result<Polygon<f64>, FilterError> {
        self.expect_open("'(' and the polygon's rings")?;
        let mut rings = Vec::new();
        loop {
            rings.push(self.line(tag, 4, true)?);
            if !self.list_goes_on()? {
                break;
            }
        }
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }

    /// `BBOX(west, south, east, north)`, or with six numbers `(west, south, min elevation, east,
    /// north, max elevation)`; `position` is the tag's.
    fn bbox(&mut self, position: usize) -> Result<Geometry<f64>, FilterError> {
        self.expect_open("'(' after BBOX")?;
        let mut n = Vec::new();
        loop {
            n.push(self.signed_number("a number of the box")?);
            if !self.list_goes_on()? {
                break;
            }
        }
        let (w, s, e, north) = match n[..] {
            [w, s, e, north] => (w, s, e, north),
            [w, s, _, e, north, _] => (w, s, e, north),
            _ => {
                return Err(FilterError::InvalidGeometry {
                    position,
                    tag: "BBOX".into(),
                    reason: "a box has four numbers (west, south, east, north) or six (with the lowest and highest elevation after south and north)".to_string(),
                });
            }
        };
        if w > e || s > north {
            return Err(FilterError::InvalidGeometry {
                position,
                tag: "BBOX".into(),
                reason: "a box needs west <= east and south <= north (boxes across the antimeridian are not supported)".to_string(),
            });
        }
        Ok(Geometry::Rect(Rect::new(
            Coord { x: w, y: s },
            Coord { x: e, y: north },
        )))
    }

    /// `x y` or `x y z` (the third coordinate dropped).
    fn coordinate(&mut self) -> Result<Coord<f64>, FilterError> {
        let x = self.signed_number("a longitude")?;
        let y = self.signed_number("a latitude after the longitude")?;
        let number_follows = match self.peek() {
            Some(t) => {
                matches!(t.tok, Tok::Num(_))
                    || (t.tok == Tok::Punct && (t.text == "-" || t.text == "+"))
            }
            None => false,
        };
        if number_follows {
            self.signed_number("an elevation")?;
        }
        Ok(Coord { x, y })
    }

    /// A number with an optional sign.
    fn signed_number(&mut self, expected: &str) -> Result<f64, FilterError> {
        let index = self.next;
        let Some(token) = self.advance() else {
            return Err(self.unexpected(index, expected));
        };
        let (text, negative) = match &token.tok {
            Tok::Num(text) => (text.clone(), false),
            Tok::Punct if token.text == "-" || token.text == "+" => match self.peek() {
                Some(Token {
                    tok: Tok::Num(text),
                    ..
                }) => {
                    let text = text.clone();
                    self.next += 1;
                    (text, token.text == "-")
                }
                _ => return Err(self.unexpected(self.next, "a number after the sign")),
            },
            _ => return Err(self.unexpected(index, expected)),
        };
        match number(&text, token.position, negative)? {
            Operand::Literal {
                value: Literal::Number(n),
                ..
            } => Ok(n),
            _ => Err(self.unexpected(index, expected)),
        }
    }

    /// Looks up a queryable.
    fn property(&self, name: &str, position: usize) -> Result<Operand, FilterError> {
        match self.queryables.iter().find(|(n, _)| *n == name) {
            Some((_, kind)) => Ok(Operand::Property {
                name: name.to_string(),
                kind: *kind,
                position,
            }),
            None => {
                let known = if self.queryables.is_empty() {
                    "which has none".to_string()
                } else {
                    let names: Vec<&str> = self
                        .queryables
                        .iter()
                        .take(MAX_LISTED)
                        .map(|(n, _)| *n)
                        .collect();
                    let more = if self.queryables.len() > MAX_LISTED {
                        ", …"
                    } else {
                        ""
                    };
                    format!("which are {}{more}", names.join(", "))
                };
                Err(FilterError::UnknownProperty {
                    position,
                    name: shorten(name),
                    known,
                })
            }
        }
    }

    /// `DATE('…')` or `TIMESTAMP('…')`, after the keyword `word` (upper case) at token `index`
    /// was consumed.
    fn instant(&mut self, word: &str, index: usize) -> Result<Operand, FilterError> {
        let (kind, format) = if word == "DATE" {
            ("DATE", "a date such as DATE('2026-10-01')")
        } else {
            (
                "TIMESTAMP",
                "an RFC 3339 timestamp such as TIMESTAMP('2026-10-01T00:00:00Z')",
            )
        };
        // The opening parenthesis was checked by the caller.
        self.next += 1;
        let string = match self.advance() {
            Some(Token {
                tok: Tok::Str(s),
                position,
                ..
            }) => (s, position),
            _ => return Err(self.unexpected(self.next.saturating_sub(1), format)),
        };
        if !self.peek().is_some_and(|t| t.tok == Tok::RParen) {
            return Err(self.unexpected(self.next, "')'"));
        }
        self.next += 1;
        let (text, position) = string;
        let invalid = || FilterError::InvalidInstant {
            position,
            kind,
            text: shorten(&text),
            format,
        };
        let value = if kind == "DATE" {
            Literal::Date(parse_date(&text).ok_or_else(invalid)?)
        } else {
            let t = DateTime::parse_from_rfc3339(&text).map_err(|_| invalid())?;
            Literal::Timestamp(t.with_timezone(&Utc))
        };
        let written = self.tokens.get(index..self.next).unwrap_or_default();
        Ok(Operand::Literal {
            value,
            position: written.first().map_or(position, |t| t.position),
            text: written.iter().map(|t| t.text.as_str()).collect(),
        })
    }
}

/// Builds a comparison of property `name` of type `kind` with a literal, checking that they fit.
fn comparison(
    name: String,
    kind: QueryableType,
    op: CompareOp,
    op_position: usize,
    value: Literal,
    position: usize,
    text: String,
) -> Result<Expr, FilterError> {
    if !value.fits(kind) {
        return Err(FilterError::TypeMismatch {
            position,
            property: name,
            literal: shorten(&text),
            found: value.describe(),
            expected: kind,
        });
    }
    if kind == QueryableType::Boolean && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
        return Err(FilterError::OperatorNotAllowed {
            position: op_position,
            op,
            property: name,
            kind,
        });
    }
    Ok(Expr::Compare {
        property: name,
        op,
        value,
    })
}

/// A number literal from its unsigned text, negated when a `-` preceded it at `position`.
fn number(text: &str, position: usize, negative: bool) -> Result<Operand, FilterError> {
    let shown = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(Operand::Literal {
            value: Literal::Number(if negative { -n } else { n }),
            position,
            text: shown,
        }),
        _ => Err(FilterError::InvalidNumber {
            position,
            text: shorten(&shown),
        }),
    }
}

/// The CQL2 construct named by `token` when it starts a predicate beyond Basic CQL2.
fn unsupported_predicate(token: &Token) -> Option<&'static str> {
    match &token.tok {
        Tok::Word(w) if w.eq_ignore_ascii_case("DIV") => Some("arithmetic"),
        Tok::Punct if matches!(token.text.as_str(), "+" | "-" | "*" | "/" | "%" | "^") => {
            Some("arithmetic")
        }
        Tok::Punct if token.text == "[" => Some("an array"),
        _ => None,
    }
}

/// Whether `text` matches a CQL2 `LIKE` pattern: `%` any run of characters (none included), `_`
/// exactly one, `\` the next character as it is; case-sensitive, by Unicode characters. The
/// classic two-pointer match with backtracking to the last `%`: linear in practice, at worst
/// the product of the two lengths (both bounded by the filter's and the record's size).
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Char(char),
    }
    let mut p = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        p.push(match c {
            '%' => P::Any,
            '_' => P::One,
            '\\' => P::Char(chars.next().unwrap_or('\\')),
            c => P::Char(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(P::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(P::One) => {
                ti += 1;
                pi += 1;
            }
            Some(P::Char(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == P::Any)
}

/// Parses a date written exactly as `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Reads a feature's timestamp value: RFC 3339, or a plain date as the start of that day in UTC.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    parse_date(text).map(start_of_day)
}

/// The first instant of `date` in UTC.
fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

/// Evaluates with three-valued logic: `None` is unknown.
fn truth(expr: &Expr, feature: &dyn Feature) -> Option<bool> {
    let get = |name: &str| feature.property(name);
    match expr {
        Expr::Literal(b) => Some(*b),
        Expr::Not(inner) => truth(inner, feature).map(|b| !b),
        Expr::And(operands) => {
            let mut unknown = false;
            for operand in operands {
                match truth(operand, feature) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        Expr::Or(operands) => {
            let mut unknown = false;
            for operand in operands {
                match truth(operand, feature) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Expr::IsNull { property, negated } => {
            // The geometry is never null where the feature has one (known by its box).
            let null = matches!(get(property), None | Some(Value::Null))
                && feature.envelope(property).is_none();
            Some(null != *negated)
        }
        Expr::Spatial {
            op,
            property,
            geometry,
        } => {
            // Settled on the boxes alone when they do not meet, so that most features need no
            // geometry built; unknown when the feature has no geometry.
            let envelope = feature.envelope(property);
            let literal_box = geometry.bounding_rect();
            if let (Some(a), Some(b)) = (envelope, literal_box)
                && !a.intersects(&b)
            {
                return Some(*op == SpatialOp::Disjoint);
            }
            let own = feature.geometry(property)?;
            op.holds(own, own.bounding_rect(), geometry)
        }
        Expr::Like {
            property,
            pattern,
            negated,
        } => match get(property)? {
            Value::String(v) => Some(like(&v, pattern) != *negated),
            _ => None,
        },
        Expr::Compare {
            property,
            op,
            value,
        } => {
            let actual = get(property)?;
            let ordering = match (value, &actual) {
                (Literal::String(s), Value::String(v)) => v.as_str().cmp(s.as_str()),
                (Literal::Number(n), Value::Number(v)) => v.as_f64()?.partial_cmp(n)?,
                (Literal::Boolean(b), Value::Bool(v)) => v.cmp(b),
                (Literal::Timestamp(t), Value::String(v)) => parse_instant(v)?.cmp(t),
                (Literal::Date(d), Value::String(v)) => parse_instant(v)?.cmp(&start_of_day(*d)),
                _ => return None,
            };
            Some(op.holds(ordering))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CQL2 JSON.

/// Why a CQL2 JSON filter could not be read or does not fit the queryables; `Display` is one
/// sentence naming where in the document, as a JSON Pointer (`/args/1`), or the line and column of
/// a syntax error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at {})", place(.pointer))]
pub struct JsonFilterError {
    /// The JSON Pointer of the offending value; empty for the whole document.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// A JSON Pointer as named in a message.
fn place(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top of the document".to_string()
    } else {
        format!("JSON Pointer {pointer}")
    }
}

/// Parses CQL2 JSON (OGC 21-065r2, <http://www.opengis.net/spec/cql2/1.0/conf/cql2-json>) into
/// the same [`Expr`] as CQL2 text, with the same queryables, types and limits: `{"op": "and",
/// "args": […]}`, `or`, `not`, `=`, `<>`, `<`, `>`, `<=`, `>=`, `like`, `between`, `in`,
/// `isNull`, the eight `s_…` spatial functions, `{"property": "name"}`, strings, numbers,
/// booleans, `{"timestamp": "…"}`, `{"date": "…"}`, GeoJSON geometries and `{"bbox": […]}`.
pub fn parse_json(
    text: &str,
    queryables: &[(&str, QueryableType)],
) -> Result<Expr, JsonFilterError> {
    let length = text.chars().count();
    if length > MAX_CHARS {
        return Err(JsonFilterError {
            pointer: String::new(),
            message: format!(
                "the filter exceeds the limit of {MAX_CHARS} characters, being {length} characters long"
            ),
        });
    }
    let value: Value = serde_json::from_str(text).map_err(|e| JsonFilterError {
        pointer: String::new(),
        message: format!("the filter is not valid JSON: {e}"),
    })?;
    JsonParser {
        queryables,
        depth: 0,
    }
    .expr(&value, "")
}

/// A CQL2 JSON operand: a queryable or a scalar literal.
enum JsonOperand {
    Property(String, QueryableType),
    Literal(Literal),
}

struct JsonParser<'q, 'n> {
    queryables: &'q [(&'n str, QueryableType)],
    /// The current nesting of `and`, `or` and `not`.
    depth: usize,
}

/// An error at `pointer`.
fn json_err(pointer: &str, message: impl Into<String>) -> JsonFilterError {
    JsonFilterError {
        pointer: pointer.to_string(),
        message: message.into(),
    }
}

/// A JSON value quoted in a message, shortened.
fn quoted_json(v: &Value) -> String {
    shorten(&v.to_string())
}

/// The names of the queryables, listed for the reader.
fn known_queryables(queryables: &[(&str, QueryableType)]) -> String {
    if queryables.is_empty() {
        return "which has none".to_string();
    }
    let names: Vec<&str> = queryables
        .iter()
        .take(MAX_LISTED)
        .map(|(n, _)| *n)
        .collect();
    let more = if queryables.len() > MAX_LISTED {
        ", …"
    } else {
        ""
    };
    format!("which are {}{more}", names.join(", "))
}

impl JsonParser<'_, '_> {
    /// A boolean expression.
    fn expr(&mut self, v: &Value, at: &str) -> Result<Expr, JsonFilterError> {
        let object = match v {
            Value::Bool(b) => return Ok(Expr::Literal(*b)),
            Value::Object(o) => o,
            _ => {
                return Err(json_err(
                    at,
                    format!(
                        "{} is not a predicate; give an object with \"op\" and \"args\", or true or false",
                        quoted_json(v)
                    ),
                ));
            }
        };
        let Some(op) = object.get("op") else {
            if object.contains_key("property") {
                return Err(json_err(
                    at,
                    "a property is not a predicate on its own; compare it with =, <>, <, >, <=, >= or test it with isNull",
                ));
            }
            return Err(json_err(
                at,
                "the object has no \"op\"; a predicate is an object with \"op\" and \"args\"",
            ));
        };
        let Some(op) = op.as_str() else {
            return Err(json_err(&format!("{at}/op"), "\"op\" must be a string"));
        };
        let args_at = format!("{at}/args");
        let Some(args) = object.get("args").and_then(Value::as_array) else {
            return Err(json_err(
                &args_at,
                format!("the operation {op:?} needs \"args\", an array"),
            ));
        };
        let arg_at = |i: usize| format!("{args_at}/{i}");
        let count = |n: usize| -> Result<(), JsonFilterError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(json_err(
                    &args_at,
                    format!(
                        "the operation {op:?} takes {n} argument{}, not {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        let lower = op.to_ascii_lowercase();
        match lower.as_str() {
            "and" | "or" => {
                if args.len() < 2 {
                    return Err(json_err(
                        &args_at,
                        format!("the operation {op:?} takes at least 2 arguments"),
                    ));
                }
                self.enter(at)?;
                let operands = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| self.expr(a, &arg_at(i)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.depth -= 1;
                Ok(if lower == "and" {
                    Expr::And(operands)
                } else {
                    Expr::Or(operands)
                })
            }
            "not" => {
                count(1)?;
                self.enter(at)?;
                let inner = self.expr(&args[0], &arg_at(0))?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            "=" | "<>" | "<" | ">" | "<=" | ">=" => {
                count(2)?;
                let op = match lower.as_str() {
                    "=" => CompareOp::Eq,
                    "<>" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    ">" => CompareOp::Gt,
                    "<=" => CompareOp::Le,
                    _ => CompareOp::Ge,
                };
                let a = self.operand(&args[0], &arg_at(0))?;
                let b = self.operand(&args[1], &arg_at(1))?;
                match (a, b) {
                    (JsonOperand::Property(p, kind), JsonOperand::Literal(l)) => {
                        self.compare(p, kind, op, l, &arg_at(1), &args[1], &args_at)
                    }
                    (JsonOperand::Literal(l), JsonOperand::Property(p, kind)) => {
                        match self.compare(p, kind, op, l, &arg_at(0), &args[0], &args_at)? {
                            Expr::Compare {
                                property,
                                op,
                                value,
                            } => Ok(Expr::Compare {
                                property,
                                op: op.flipped(),
                                value,
                            }),
                            other => Ok(other),
                        }
                    }
                    (JsonOperand::Property(left, _), JsonOperand::Property(right, _)) => {
                        Err(json_err(
                            &arg_at(1),
                            format!(
                                "the property '{right}' is compared with the property '{left}', but Basic CQL2 compares a property only with a literal"
                            ),
                        ))
                    }
                    (JsonOperand::Literal(_), JsonOperand::Literal(_)) => Err(json_err(
                        &args_at,
                        "the comparison has a literal on both sides, but one side must be a queryable property",
                    )),
                }
            }
            "like" => {
                count(2)?;
                let (property, kind) = self.property_arg(&args[0], &arg_at(0))?;
                let Some(pattern) = args[1].as_str() else {
                    return Err(json_err(
                        &arg_at(1),
                        format!("the pattern {} must be a string", quoted_json(&args[1])),
                    ));
                };
                if kind != QueryableType::String {
                    return Err(json_err(
                        &arg_at(0),
                        format!(
                            "LIKE needs a string property, but '{property}' is {}",
                            type_with_hint(kind)
                        ),
                    ));
                }
                Ok(Expr::Like {
                    property,
                    pattern: pattern.to_string(),
                    negated: false,
                })
            }
            "between" => {
                count(3)?;
                let (property, kind) = self.property_arg(&args[0], &arg_at(0))?;
                let mut bounds = Vec::new();
                for (i, o) in [(1, CompareOp::Ge), (2, CompareOp::Le)] {
                    let JsonOperand::Literal(l) = self.operand(&args[i], &arg_at(i))? else {
                        return Err(json_err(&arg_at(i), "a bound of BETWEEN must be a literal"));
                    };
                    bounds.push(self.compare(
                        property.clone(),
                        kind,
                        o,
                        l,
                        &arg_at(i),
                        &args[i],
                        &args_at,
                    )?);
                }
                Ok(Expr::And(bounds))
            }
            "in" => {
                count(2)?;
                let (property, kind) = self.property_arg(&args[0], &arg_at(0))?;
                let Some(list) = args[1].as_array().filter(|l| !l.is_empty()) else {
                    return Err(json_err(
                        &arg_at(1),
                        "the second argument of IN must be a non-empty array of literals",
                    ));
                };
                if list.len() > MAX_TOKENS {
                    return Err(json_err(
                        &arg_at(1),
                        format!("the list has more than {MAX_TOKENS} values"),
                    ));
                }
                let mut each = Vec::new();
                for (i, item) in list.iter().enumerate() {
                    let item_at = format!("{}/{i}", arg_at(1));
                    let JsonOperand::Literal(l) = self.operand(item, &item_at)? else {
                        return Err(json_err(&item_at, "a value of IN must be a literal"));
                    };
                    each.push(self.compare(
                        property.clone(),
                        kind,
                        CompareOp::Eq,
                        l,
                        &item_at,
                        item,
                        &args_at,
                    )?);
                }
                Ok(if each.len() == 1 {
                    each.remove(0)
                } else {
                    Expr::Or(each)
                })
            }
            "isnull" => {
                count(1)?;
                let (property, _) = self.property_arg(&args[0], &arg_at(0))?;
                Ok(Expr::IsNull {
                    property,
                    negated: false,
                })
            }
            _ if lower.starts_with("s_") && SpatialOp::named(&lower).is_some() => {
                let spatial = SpatialOp::named(&lower).unwrap_or(SpatialOp::Intersects);
                count(2)?;
                let first = self.geometry_arg(&args[0], &arg_at(0))?;
                let second = self.geometry_arg(&args[1], &arg_at(1))?;
                match (first, second) {
                    (Ok(property), Err(geometry)) => Ok(Expr::Spatial {
                        op: spatial,
                        property,
                        geometry,
                    }),
                    (Err(geometry), Ok(property)) => Ok(Expr::Spatial {
                        op: spatial.flipped(),
                        property,
                        geometry,
                    }),
                    (Ok(_), Ok(_)) => Err(json_err(
                        &arg_at(1),
                        "a spatial function compares the geometry property with a literal, not with another property",
                    )),
                    (Err(_), Err(_)) => Err(json_err(
                        &args_at,
                        "the spatial function has a literal on both sides, but one side must be the geometry property",
                    )),
                }
            }
            _ => Err(json_err(&format!("{at}/op"), unsupported_json_op(op))),
        }
    }

    /// Enters one more level of `and`, `or` or `not`.
    fn enter(&mut self, at: &str) -> Result<(), JsonFilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(json_err(
                at,
                format!("the filter nests and, or and not more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// A comparison of property `p` with literal `l` (written as `raw` at `at`), checked as the
    /// text parser checks it.
    #[allow(clippy::too_many_arguments)]
    fn compare(
        &self,
        p: String,
        kind: QueryableType,
        op: CompareOp,
        l: Literal,
        at: &str,
        raw: &Value,
        op_at: &str,
    ) -> Result<Expr, JsonFilterError> {
        if !l.fits(kind) {
            return Err(json_err(
                at,
                format!(
                    "the literal {} is {}, but the property '{p}' is {}",
                    quoted_json(raw),
                    l.describe(),
                    type_with_hint(kind)
                ),
            ));
        }
        if kind == QueryableType::Boolean && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err(json_err(
                op_at,
                format!(
                    "the operator {op} cannot compare the property '{p}', which is a boolean; only = and <> apply to it"
                ),
            ));
        }
        Ok(Expr::Compare {
            property: p,
            op,
            value: l,
        })
    }

    /// A queryable named by `{"property": "name"}`.
    fn lookup(&self, name: &str, at: &str) -> Result<(String, QueryableType), JsonFilterError> {
        match self.queryables.iter().find(|(n, _)| *n == name) {
            Some((n, kind)) => Ok((n.to_string(), *kind)),
            None => Err(json_err(
                at,
                format!(
                    "the property '{}' is not a queryable of this collection ({})",
                    shorten(name),
                    known_queryables(self.queryables)
                ),
            )),
        }
    }

    /// An argument that must be a property.
    fn property_arg(
        &self,
        v: &Value,
        at: &str,
    ) -> Result<(String, QueryableType), JsonFilterError> {
        match self.operand(v, at)? {
            JsonOperand::Property(p, kind) => Ok((p, kind)),
            JsonOperand::Literal(_) => Err(json_err(
                at,
                format!(
                    "{} is a literal where a property ({{\"property\": \"name\"}}) was expected",
                    quoted_json(v)
                ),
            )),
        }
    }

    /// A scalar operand: a property or a literal.
    fn operand(&self, v: &Value, at: &str) -> Result<JsonOperand, JsonFilterError> {
        Ok(match v {
            Value::String(s) => JsonOperand::Literal(Literal::String(s.clone())),
            Value::Bool(b) => JsonOperand::Literal(Literal::Boolean(*b)),
            Value::Number(n) => match n.as_f64().filter(|x| x.is_finite()) {
                Some(x) => JsonOperand::Literal(Literal::Number(x)),
                None => return Err(json_err(at, format!("the number {n} is not finite"))),
            },
            Value::Null => {
                return Err(json_err(
                    at,
                    "null is not a value that can be compared; use isNull",
                ));
            }
            Value::Array(_) => {
                return Err(json_err(
                    at,
                    "an array is not supported here: array functions are outside what this server implements",
                ));
            }
            Value::Object(o) => {
                if let Some(name) = o.get("property") {
                    let Some(name) = name.as_str() else {
                        return Err(json_err(at, "\"property\" must be a string"));
                    };
                    let (p, kind) = self.lookup(name, at)?;
                    return Ok(JsonOperand::Property(p, kind));
                }
                if let Some(t) = o.get("timestamp") {
                    let parsed = t
                        .as_str()
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.with_timezone(&Utc));
                    return match parsed {
                        Some(t) => Ok(JsonOperand::Literal(Literal::Timestamp(t))),
                        None => Err(json_err(
                            at,
                            format!(
                                "the timestamp {} is not valid; write an RFC 3339 timestamp such as \"2026-10-01T00:00:00Z\"",
                                quoted_json(t)
                            ),
                        )),
                    };
                }
                if let Some(d) = o.get("date") {
                    return match d.as_str().and_then(parse_date) {
                        Some(d) => Ok(JsonOperand::Literal(Literal::Date(d))),
                        None => Err(json_err(
                            at,
                            format!(
                                "the date {} is not valid; write a date such as \"2026-10-01\"",
                                quoted_json(d)
                            ),
                        )),
                    };
                }
                if let Some(op) = o.get("op").and_then(Value::as_str) {
                    return Err(json_err(at, unsupported_json_op(op)));
                }
                return Err(json_err(
                    at,
                    format!(
                        "{} is neither a property ({{\"property\": \"name\"}}) nor a literal",
                        quoted_json(v)
                    ),
                ));
            }
        })
    }

    /// An argument of a spatial function: `Ok` with the geometry property, `Err` with a literal.
    #[allow(clippy::type_complexity)]
    fn geometry_arg(
        &self,
        v: &Value,
        at: &str,
    ) -> Result<Result<String, Geometry<f64>>, JsonFilterError> {
        if let Some(name) = v.get("property") {
            let Some(name) = name.as_str() else {
                return Err(json_err(at, "\"property\" must be a string"));
            };
            let (p, kind) = self.lookup(name, at)?;
            if kind != QueryableType::Geometry {
                return Err(json_err(
                    at,
                    format!(
                        "the property '{p}' is {}, but a spatial function compares geometries",
                        kind.describe()
                    ),
                ));
            }
            return Ok(Ok(p));
        }
        if let Some(op) = v.get("op").and_then(Value::as_str) {
            return Err(json_err(at, unsupported_json_op(op)));
        }
        let geometry = json_geometry(v, at, false)?;
        valid(&geometry)
            .map_err(|reason| json_err(at, format!("the geometry is not valid: {reason}")))?;
        Ok(Err(geometry))
    }
}

/// The message for an operation this server does not implement.
fn unsupported_json_op(op: &str) -> String {
    let lower = op.to_ascii_lowercase();
    let feature = if lower == "casei" || lower == "accenti" {
        "case- and accent-insensitive comparison"
    } else if lower.starts_with("t_") {
        "a temporal function"
    } else if lower.starts_with("a_") {
        "an array function"
    } else if ["+", "-", "*", "/", "%", "^", "div"].contains(&lower.as_str()) {
        "arithmetic"
    } else {
        "a function call"
    };
    format!(
        "the operation {:?} is not supported: {feature} is outside what this server implements (=, <>, <, >, <=, >=, like, between, in, isNull, and, or, not, s_intersects, s_equals, s_disjoint, s_touches, s_within, s_overlaps, s_crosses, s_contains)",
        shorten(op)
    )
}

/// A GeoJSON geometry or `{"bbox": […]}` (CQL2 JSON's `spatialInstance`), third coordinates and
/// elevations dropped; `member` inside a GeometryCollection.
fn json_geometry(v: &Value, at: &str, member: bool) -> Result<Geometry<f64>, JsonFilterError> {
    let bad = |message: &str| json_err(at, message.to_string());
    if let Some(b) = v.get("bbox").filter(|_| v.get("type").is_none()) {
        if member {
            return Err(bad("a GeometryCollection cannot hold a bbox"));
        }
        let n: Option<Vec<f64>> = b
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_f64().filter(|x| x.is_finite()))
                    .collect()
            })
            .unwrap_or(None);
        let (w, s, e, north) = match n.as_deref() {
            Some(&[w, s, e, north]) => (w, s, e, north),
            Some(&[w, s, _, e, north, _]) => (w, s, e, north),
            _ => {
                return Err(bad(
                    "a bbox has four numbers (west, south, east, north) or six (with the lowest and highest elevation after south and north)",
                ));
            }
        };
        if w > e || s > north {
            return Err(bad(
                "a bbox needs west <= east and south <= north (boxes across the antimeridian are not supported)",
            ));
        }
        return Ok(Geometry::Rect(Rect::new(
            Coord { x: w, y: s },
            Coord { x: e, y: north },
        )));
    }
    let Some(kind) = v.get("type").and_then(Value::as_str) else {
        return Err(bad(
            "expected the geometry property ({\"property\": \"geometry\"}), a GeoJSON geometry or {\"bbox\": [west, south, east, north]}",
        ));
    };
    if kind == "GeometryCollection" {
        if member {
            return Err(bad("a GeometryCollection cannot hold another"));
        }
        let Some(members) = v.get("geometries").and_then(Value::as_array) else {
            return Err(json_err(
                &format!("{at}/geometries"),
                "a GeometryCollection needs \"geometries\", an array",
            ));
        };
        let members = members
            .iter()
            .enumerate()
            .map(|(i, g)| json_geometry(g, &format!("{at}/geometries/{i}"), true))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Geometry::GeometryCollection(GeometryCollection(members)));
    }
    let c_at = format!("{at}/coordinates");
    let Some(c) = v.get("coordinates") else {
        return Err(json_err(&c_at, format!("a {kind} needs \"coordinates\"")));
    };
    Ok(match kind {
        "Point" => Geometry::Point(Point(json_position(c, &c_at)?)),
        "LineString" => Geometry::LineString(json_line(c, &c_at, false)?),
        "Polygon" => Geometry::Polygon(json_polygon(c, &c_at)?),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            json_array(c, &c_at)?
                .iter()
                .enumerate()
                .map(|(i, p)| json_position(p, &format!("{c_at}/{i}")).map(Point))
                .collect::<Result<_, _>>()?,
        )),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            json_array(c, &c_at)?
                .iter()
                .enumerate()
                .map(|(i, l)| json_line(l, &format!("{c_at}/{i}"), false))
                .collect::<Result<_, _>>()?,
        )),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            json_array(c, &c_at)?
                .iter()
                .enumerate()
                .map(|(i, p)| json_polygon(p, &format!("{c_at}/{i}")))
                .collect::<Result<_, _>>()?,
        )),
        other => {
            return Err(json_err(
                &format!("{at}/type"),
                format!(
                    "{:?} is not a GeoJSON geometry type (Point, LineString, Polygon, MultiPoint, MultiLineString, MultiPolygon, GeometryCollection)",
                    shorten(other)
                ),
            ));
        }
    })
}

fn json_array<'v>(v: &'v Value, at: &str) -> Result<&'v Vec<Value>, JsonFilterError> {
    v.as_array()
        .ok_or_else(|| json_err(at, "expected an array of coordinates"))
}

/// `[x, y]` or `[x, y, z]`.
fn json_position(v: &Value, at: &str) -> Result<Coord<f64>, JsonFilterError> {
    let n: Option<Vec<f64>> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_f64().filter(|x| x.is_finite()))
                .collect()
        })
        .unwrap_or(None);
    match n.as_deref() {
        Some(&[x, y]) | Some(&[x, y, _]) => Ok(Coord { x, y }),
        _ => Err(json_err(
            at,
            "a position is an array of two numbers (longitude, latitude) or three (with the elevation)",
        )),
    }
}

/// A line of at least two positions, or a ring: closed, at least four, or empty.
fn json_line(v: &Value, at: &str, ring: bool) -> Result<LineString<f64>, JsonFilterError> {
    let points = json_array(v, at)?
        .iter()
        .enumerate()
        .map(|(i, p)| json_position(p, &format!("{at}/{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    if ring && points.is_empty() {
        return Ok(LineString(points));
    }
    if points.len() < if ring { 4 } else { 2 } {
        return Err(json_err(
            at,
            if ring {
                "a ring needs at least four positions"
            } else {
                "a line needs at least two positions"
            },
        ));
    }
    if ring && points.first() != points.last() {
        return Err(json_err(
            at,
            "a ring must be closed, its last position the same as its first",
        ));
    }
    Ok(LineString(points))
}

/// The rings of a polygon, the outer one first.
fn json_polygon(v: &Value, at: &str) -> Result<Polygon<f64>, JsonFilterError> {
    let mut rings = json_array(v, at)?
        .iter()
        .enumerate()
        .map(|(i, r)| json_line(r, &format!("{at}/{i}"), true))
        .collect::<Result<Vec<_>, _>>()?;
    if rings.is_empty() {
        return Err(json_err(at, "a polygon needs at least its outer ring"));
    }
    let exterior = rings.remove(0);
    Ok(Polygon::new(exterior, rings))
}

impl Literal {
    /// The literal in CQL2 JSON.
    fn to_json(&self) -> Value {
        match self {
            Literal::String(s) => json!(s),
            Literal::Number(n) => json!(n),
            Literal::Boolean(b) => json!(b),
            Literal::Timestamp(t) => {
                json!({"timestamp": t.to_rfc3339_opts(SecondsFormat::AutoSi, true)})
            }
            Literal::Date(d) => json!({"date": d.format("%Y-%m-%d").to_string()}),
        }
    }
}

/// A geometry literal in CQL2 JSON: GeoJSON, or `{"bbox": […]}` for a box.
fn geometry_json(g: &Geometry<f64>) -> Value {
    let pos = |c: &Coord<f64>| json!([c.x, c.y]);
    let line = |l: &LineString<f64>| Value::Array(l.0.iter().map(pos).collect());
    let polygon = |p: &Polygon<f64>| {
        let mut rings = vec![line(p.exterior())];
        rings.extend(p.interiors().iter().map(line));
        Value::Array(rings)
    };
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(&p.0)}),
        Geometry::Line(l) => {
            json!({"type": "LineString", "coordinates": [pos(&l.start), pos(&l.end)]})
        }
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": line(l)}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon(p)}),
        Geometry::Triangle(t) => {
            json!({"type": "Polygon", "coordinates": polygon(&t.to_polygon())})
        }
        Geometry::MultiPoint(m) => {
            json!({"type": "MultiPoint", "coordinates": m.0.iter().map(|p| pos(&p.0)).collect::<Vec<_>>()})
        }
        Geometry::MultiLineString(m) => {
            json!({"type": "MultiLineString", "coordinates": m.0.iter().map(line).collect::<Vec<_>>()})
        }
        Geometry::MultiPolygon(m) => {
            json!({"type": "MultiPolygon", "coordinates": m.0.iter().map(polygon).collect::<Vec<_>>()})
        }
        Geometry::GeometryCollection(c) => {
            json!({"type": "GeometryCollection", "geometries": c.0.iter().map(geometry_json).collect::<Vec<_>>()})
        }
        Geometry::Rect(r) => json!({"bbox": [r.min().x, r.min().y, r.max().x, r.max().y]}),
    }
}

impl Expr {
    /// The expression in CQL2 JSON, which [`parse_json`] reads back to an equivalent filter
    /// (`NOT LIKE` and `IS NOT NULL` become `not` around `like` and `isNull`).
    pub fn to_json(&self) -> Value {
        let not = |v: Value, negated: bool| {
            if negated {
                json!({"op": "not", "args": [v]})
            } else {
                v
            }
        };
        match self {
            Expr::Literal(b) => json!(b),
            Expr::And(operands) | Expr::Or(operands) => {
                let and = matches!(self, Expr::And(_));
                match operands.len() {
                    0 => json!(and),
                    1 => operands[0].to_json(),
                    _ => json!({
                        "op": if and { "and" } else { "or" },
                        "args": operands.iter().map(Expr::to_json).collect::<Vec<_>>(),
                    }),
                }
            }
            Expr::Not(inner) => json!({"op": "not", "args": [inner.to_json()]}),
            Expr::Compare {
                property,
                op,
                value,
            } => json!({"op": op.as_str(), "args": [{"property": property}, value.to_json()]}),
            Expr::Like {
                property,
                pattern,
                negated,
            } => not(
                json!({"op": "like", "args": [{"property": property}, pattern]}),
                *negated,
            ),
            Expr::IsNull { property, negated } => not(
                json!({"op": "isNull", "args": [{"property": property}]}),
                *negated,
            ),
            Expr::Spatial {
                op,
                property,
                geometry,
            } => json!({
                "op": op.as_str().to_ascii_lowercase(),
                "args": [{"property": property}, geometry_json(geometry)],
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sorting.

/// One key of `sortby`: a queryable and its direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The queryable's name.
    pub property: String,
    /// Its type, by which values are compared.
    pub kind: QueryableType,
    /// Whether the key sorts in descending order (`-name`).
    pub descending: bool,
}

/// Parses `sortby` (OGC API – Features Part 8): queryable names separated by commas, each with an
/// optional `+` (ascending, the default) or `-` (descending) before it. A `+` that reached the
/// server as a space (an unencoded `+` in a query string) is read as `+`. The geometry cannot be
/// sorted on, nor a key given twice; the error is one sentence naming the key at fault.
pub fn parse_sortby(
    text: &str,
    queryables: &[(&str, QueryableType)],
) -> Result<Vec<SortKey>, String> {
    let sortable = || -> String {
        queryables
            .iter()
            .filter(|(_, k)| *k != QueryableType::Geometry)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut keys: Vec<SortKey> = Vec::new();
    for (i, raw) in text.split(',').enumerate() {
        let item = raw.trim_end();
        let (name, descending) = if let Some(n) = item.strip_prefix('-') {
            (n, true)
        } else if let Some(n) = item.strip_prefix('+') {
            (n, false)
        } else if let Some(n) = item.strip_prefix(' ') {
            (n.trim_start(), false)
        } else {
            (item, false)
        };
        if name.is_empty() {
            return Err(format!(
                "key {} of {:?} names no property; write names separated by commas, each with an optional + or - before it, such as name,-reported_at",
                i + 1,
                shorten(text)
            ));
        }
        let Some((n, kind)) = queryables
            .iter()
            .find(|(n, k)| *n == name && *k != QueryableType::Geometry)
        else {
            return Err(format!(
                "{:?} is not a sortable property of this collection (the sortables are {})",
                shorten(name),
                sortable()
            ));
        };
        if keys.iter().any(|k| k.property == *n) {
            return Err(format!("{:?} is given more than once", shorten(name)));
        }
        keys.push(SortKey {
            property: n.to_string(),
            kind: *kind,
            descending,
        });
    }
    Ok(keys)
}

/// A feature's value for one sort key, read as the key's type.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    /// A string, ordered by Unicode code points.
    String(String),
    /// A number.
    Number(f64),
    /// A boolean, false first.
    Boolean(bool),
    /// An instant.
    Instant(DateTime<Utc>),
    /// Absent, null, or not of the key's type: after every value in either direction.
    Null,
}

/// The feature's values for `keys`, from its properties.
pub fn sort_values(keys: &[SortKey], get: &dyn Fn(&str) -> Option<Value>) -> Vec<SortValue> {
    keys.iter()
        .map(|k| match (k.kind, get(&k.property)) {
            (QueryableType::String, Some(Value::String(s))) => SortValue::String(s),
            (QueryableType::Number, Some(Value::Number(n))) => {
                n.as_f64().map_or(SortValue::Null, SortValue::Number)
            }
            (QueryableType::Boolean, Some(Value::Bool(b))) => SortValue::Boolean(b),
            (QueryableType::Timestamp, Some(Value::String(s))) => {
                parse_instant(&s).map_or(SortValue::Null, SortValue::Instant)
            }
            _ => SortValue::Null,
        })
        .collect()
}

/// Orders two features' [`sort_values`] by `keys`: each key in its direction, nulls last in
/// either direction, a tie going to the next key (and, past the last, left to a stable sort).
pub fn compare_sort_values(keys: &[SortKey], a: &[SortValue], b: &[SortValue]) -> Ordering {
    for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
        let ordering = match (x, y) {
            (SortValue::Null, SortValue::Null) => Ordering::Equal,
            (SortValue::Null, _) => return Ordering::Greater,
            (_, SortValue::Null) => return Ordering::Less,
            (SortValue::String(x), SortValue::String(y)) => x.cmp(y),
            (SortValue::Number(x), SortValue::Number(y)) => x.total_cmp(y),
            (SortValue::Boolean(x), SortValue::Boolean(y)) => x.cmp(y),
            (SortValue::Instant(x), SortValue::Instant(y)) => x.cmp(y),
            _ => Ordering::Equal,
        };
        let ordering = if k.descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: &[(&str, QueryableType)] = &[
        ("status", QueryableType::String),
        ("name", QueryableType::String),
        ("x", QueryableType::String),
        ("depth", QueryableType::Number),
        ("area", QueryableType::Number),
        ("cleared", QueryableType::Boolean),
        ("updated", QueryableType::Timestamp),
        ("hazard-type", QueryableType::String),
        ("and", QueryableType::String),
        ("date", QueryableType::Timestamp),
        ("geometry", QueryableType::Geometry),
    ];

    /// Parses `text`, evaluates it against `feature` and checks the outcome.
    fn check(text: &str, feature: Value, expected: bool) {
        let expr = match parse(text, Q) {
            Ok(expr) => expr,
            Err(e) => panic!("{text:?} failed to parse: {e}"),
        };
        let get = |name: &str| feature.get(name).cloned();
        assert_eq!(
            eval(&expr, &get),
            expected,
            "{text:?} on {feature} parsed as {expr:?}"
        );
        // The canonical text parses back to the same expression.
        let canonical = expr.to_string();
        assert_eq!(
            parse(&canonical, Q).as_ref(),
            Ok(&expr),
            "{canonical:?} from {text:?}"
        );
    }

    /// Checks that `text` fails to parse with a message containing `expected`.
    fn check_err(text: &str, expected: &str) {
        match parse(text, Q) {
            Ok(expr) => panic!("{text:?} parsed as {expr:?}, expected an error"),
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.contains(expected),
                    "{text:?}: {message:?} does not contain {expected:?}"
                );
                assert!(
                    message.contains("character offset"),
                    "{text:?}: {message:?} names no position"
                );
                assert!(!message.contains('\n'), "{message:?} is not one line");
            }
        }
    }

    #[test]
    fn advanced_comparison_operators() {
        let f = json!({"status": "cleared_100%", "depth": 5, "name": "Field 0.6 km SW"});
        for (text, expected) in [
            ("status LIKE 'clear%'", true),
            ("status LIKE 'clear'", false),
            ("status LIKE '%100\\%'", true),
            ("status LIKE '%100_'", true),
            ("status LIKE 'cleared_100%'", true),
            ("status LIKE '_leared%'", true),
            ("status LIKE '__eared%'", true),
            ("status LIKE '%'", true),
            ("status LIKE ''", false),
            ("status NOT LIKE 'sus%'", true),
            ("name LIKE '%km%SW'", true),
            ("name LIKE '%km%NW'", false),
            ("depth BETWEEN 1 AND 5", true),
            ("depth BETWEEN 6 AND 9", false),
            ("depth NOT BETWEEN 6 AND 9", true),
            ("depth IN (1, 5, 7)", true),
            ("depth IN (1, 7)", false),
            ("depth NOT IN (1, 7)", true),
            ("status IN ('cleared_100%')", true),
            ("status in ('a', 'b') or depth between 4 and 6", true),
        ] {
            check(text, f.clone(), expected);
        }
        // Unknown stays unknown: an absent property selects nothing, NOT or not.
        for text in [
            "status LIKE '%'",
            "status NOT LIKE '%'",
            "depth NOT BETWEEN 1 AND 2",
            "depth NOT IN (1)",
        ] {
            check(text, json!({}), false);
        }
    }

    #[test]
    fn comparison_operators() {
        let f = json!({"status": "cleared", "depth": 5, "cleared": true});
        for (text, expected) in [
            ("status = 'cleared'", true),
            ("status = 'suspected'", false),
            ("status <> 'suspected'", true),
            ("status <> 'cleared'", false),
            ("status < 'd'", true),
            ("status < 'cleared'", false),
            ("status > 'c'", true),
            ("status > 'd'", false),
            ("status <= 'cleared'", true),
            ("status <= 'b'", false),
            ("status >= 'cleared'", true),
            ("status >= 'd'", false),
            ("depth = 5", true),
            ("depth <> 5", false),
            ("depth < 6", true),
            ("depth < 5", false),
            ("depth > 4.5", true),
            ("depth > 5", false),
            ("depth <= 5", true),
            ("depth <= 4.999", false),
            ("depth >= 5", true),
            ("depth >= 5.0001", false),
            ("cleared = TRUE", true),
            ("cleared = false", false),
            ("cleared <> FALSE", true),
            ("cleared <> true", false),
        ] {
            check(text, f.clone(), expected);
        }
    }

    #[test]
    fn literal_on_the_left() {
        let f = json!({"status": "cleared", "depth": 5});
        for (text, expected) in [
            ("'cleared' = status", true),
            ("'d' > status", true),
            ("'d' < status", false),
            ("4 < depth", true),
            ("4 > depth", false),
            ("5 >= depth", true),
            ("5 <= depth", true),
            ("6 <= depth", false),
            ("5 <> depth", false),
            ("TRUE", true),
            ("FALSE", false),
            ("true AND status = 'cleared'", true),
            ("NOT FALSE", true),
        ] {
            check(text, f.clone(), expected);
        }
    }

    #[test]
    fn precedence_and_parentheses() {
        // a OR b AND c is a OR (b AND c).
        let t = "'t'";
        let f = json!({"status": "t", "name": "f", "x": "f"});
        check(
            &format!("status = {t} OR name = {t} AND x = {t}"),
            f.clone(),
            true,
        );
        check(
            &format!("(status = {t} OR name = {t}) AND x = {t}"),
            f.clone(),
            false,
        );
        check(
            &format!("name = {t} AND x = {t} OR status = {t}"),
            f.clone(),
            true,
        );
        check(
            &format!("name = {t} AND (x = {t} OR status = {t})"),
            f.clone(),
            false,
        );
        // NOT binds tighter than AND and OR.
        check(&format!("NOT status = {t} OR name = {t}"), f.clone(), false);
        check(
            &format!("NOT (status = {t} OR name = {t})"),
            f.clone(),
            false,
        );
        check(&format!("NOT name = {t} AND status = {t}"), f.clone(), true);
        check(
            &format!("NOT (name = {t} AND status = {t})"),
            f.clone(),
            true,
        );
        check(&format!("NOT NOT status = {t}"), f.clone(), true);
        check(&format!("(((status = {t})))"), f.clone(), true);
        check(
            &format!("((status = {t}) AND (NOT (name = {t})))"),
            f.clone(),
            true,
        );
        check(
            "status = 't' AND name = 'f' AND x = 'f' AND NOT x = 't'",
            f.clone(),
            true,
        );
        check("status = 'f' OR name = 't' OR x = 'f'", f, true);
    }

    #[test]
    fn structure_of_parsed_expressions() {
        let a = |p: &str| Expr::Compare {
            property: p.to_string(),
            op: CompareOp::Eq,
            value: Literal::String("a".to_string()),
        };
        assert_eq!(
            parse("status = 'a' OR name = 'a' AND x = 'a'", Q),
            Ok(Expr::Or(vec![
                a("status"),
                Expr::And(vec![a("name"), a("x")])
            ]))
        );
        assert_eq!(
            parse("NOT status = 'a' AND name = 'a'", Q),
            Ok(Expr::And(vec![Expr::Not(Box::new(a("status"))), a("name")]))
        );
        assert_eq!(
            parse("3 < depth", Q),
            Ok(Expr::Compare {
                property: "depth".to_string(),
                op: CompareOp::Gt,
                value: Literal::Number(3.0),
            })
        );
        assert_eq!(
            parse("depth IS NOT NULL", Q),
            Ok(Expr::IsNull {
                property: "depth".to_string(),
                negated: true,
            })
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_whitespace_is_free() {
        let f = json!({"status": "a", "depth": 1, "cleared": false});
        for (text, expected) in [
            ("status = 'a' and depth = 1", true),
            ("status = 'b' Or depth = 1", true),
            ("not status = 'b'", true),
            ("depth is null", false),
            ("depth Is Not Null", true),
            ("cleared = False", true),
            ("cleared = tRuE", false),
            ("  status='a'AND(depth=1)  ", true),
            ("\tstatus\n=\r\n'a'\n", true),
            ("status='a'", true),
            ("depth>=1AND depth<=1", true),
            ("date = timestamp('2026-10-01T00:00:00Z')", false),
            ("updated IS NULL AND date is NULL", true),
        ] {
            check(text, f.clone(), expected);
        }
    }

    #[test]
    fn quoted_property_names() {
        let f = json!({"status": "a", "hazard-type": "AP mine", "and": "x"});
        check("\"status\" = 'a'", f.clone(), true);
        check("\"hazard-type\" = 'AP mine'", f.clone(), true);
        check("\"and\" = 'x' AND \"status\" <> 'b'", f.clone(), true);
        check("'AP mine' = \"hazard-type\"", f, true);
        // Property names are case-sensitive.
        check_err(
            "\"Status\" = 'a'",
            "property 'Status' at character offset 0",
        );
    }

    #[test]
    fn string_literals_and_escapes() {
        let f = json!({"name": "it's", "status": "", "x": "C:\\dir", "hazard-type": "Ünïcødé ✓"});
        check("name = 'it''s'", f.clone(), true);
        check("name = 'its'", f.clone(), false);
        check("status = ''", f.clone(), true);
        check("x = 'C:\\dir'", f.clone(), true);
        check("\"hazard-type\" = 'Ünïcødé ✓'", f.clone(), true);
        check("name = 'AND status = ''x'''", f.clone(), false);
        check("status < 'a'", f, true);
    }

    #[test]
    fn strings_compare_by_code_points() {
        // Upper case sorts before lower case, and 'é' (U+00E9) after 'z'.
        let f = json!({"name": "Zebra", "x": "é", "status": "😀"});
        check("name < 'apple'", json!({"name": "Zebra"}), true);
        check("x > 'z'", f.clone(), true);
        check("status > '\u{FFFF}'", f.clone(), true);
        check("name = 'zebra'", f, false);
    }

    #[test]
    fn numbers() {
        let f = json!({"depth": -2.5, "area": 1200});
        for (text, expected) in [
            ("depth = -2.5", true),
            ("depth = - 2.5", true),
            ("depth < -2", true),
            ("depth > -3", true),
            ("depth = -25e-1", true),
            ("depth = -0.25E1", true),
            ("depth = -0.25e+1", true),
            ("area = 1200", true),
            ("area = 1200.0", true),
            ("area = 1.2e3", true),
            ("area = 12E2", true),
            ("area = +1200", true),
            ("area > 1199.999", true),
            ("area < 1e4", true),
            ("area = 120.", false),
            ("area > .5", true),
            ("-2.5 = depth", true),
            ("area = 1200 AND depth <> 0", true),
        ] {
            check(text, f.clone(), expected);
        }
        // Numbers in features compare numerically whatever their JSON form.
        check("area = 1200", json!({"area": 1.2e3}), true);
        check("area > 99999999999", json!({"area": u64::MAX}), true);
    }

    #[test]
    fn timestamps_and_dates() {
        let f = json!({"updated": "2026-10-01T12:30:00Z"});
        for (text, expected) in [
            ("updated = TIMESTAMP('2026-10-01T12:30:00Z')", true),
            ("updated = TIMESTAMP('2026-10-01T14:30:00+02:00')", true),
            ("updated = TIMESTAMP('2026-10-01T12:30:00.000Z')", true),
            ("updated > TIMESTAMP('2026-10-01T12:29:59.999Z')", true),
            ("updated < TIMESTAMP('2026-10-01T12:30:00Z')", false),
            ("updated <> TIMESTAMP('2026-10-01T12:30:00Z')", false),
            // DATE is the start of the day in UTC.
            ("updated > DATE('2026-10-01')", true),
            ("updated >= DATE('2026-10-01')", true),
            ("updated < DATE('2026-10-02')", true),
            ("updated = DATE('2026-10-01')", false),
            ("updated < DATE('2026-10-01')", false),
            ("DATE('2026-10-02') > updated", true),
            ("timestamp('2026-01-01T00:00:00Z') < updated", true),
        ] {
            check(text, f.clone(), expected);
        }
        // Feature values with offsets and plain dates are instants too.
        check(
            "updated = TIMESTAMP('2026-09-30T22:00:00Z')",
            json!({"updated": "2026-10-01T00:00:00+02:00"}),
            true,
        );
        check(
            "updated = DATE('2026-10-01')",
            json!({"updated": "2026-10-01"}),
            true,
        );
        check(
            "updated = TIMESTAMP('2026-10-01T00:00:00Z')",
            json!({"updated": "2026-10-01"}),
            true,
        );
        check(
            "updated < TIMESTAMP('2026-10-01T00:00:00Z')",
            json!({"updated": "2026-09-30T23:59:59.999999Z"}),
            true,
        );
        // A value that is no instant is unknown, so neither the test nor its negation holds.
        let junk = json!({"updated": "last Tuesday"});
        check("updated < DATE('2026-10-01')", junk.clone(), false);
        check("NOT updated < DATE('2026-10-01')", junk, false);
    }

    #[test]
    fn is_null_on_absent_null_and_present_properties() {
        for (text, feature, expected) in [
            ("status IS NULL", json!({}), true),
            ("status IS NULL", json!({"status": null}), true),
            ("status IS NULL", json!({"status": "a"}), false),
            ("status IS NULL", json!({"status": ""}), false),
            ("status IS NOT NULL", json!({}), false),
            ("status IS NOT NULL", json!({"status": null}), false),
            ("status IS NOT NULL", json!({"status": "a"}), true),
            ("depth IS NOT NULL", json!({"depth": 0}), true),
            ("cleared IS NOT NULL", json!({"cleared": false}), true),
            ("NOT status IS NULL", json!({}), false),
            ("NOT status IS NULL", json!({"status": "a"}), true),
            ("status IS NULL OR status = 'a'", json!({}), true),
        ] {
            check(text, feature, expected);
        }
    }

    #[test]
    fn three_valued_logic() {
        let absent = json!({"status": "a"});
        let null = json!({"status": "a", "x": null});
        for f in [absent, null] {
            for (text, expected) in [
                ("x = 'a'", false),
                ("x <> 'a'", false),
                ("NOT (x = 'a')", false),
                ("NOT x <> 'a'", false),
                ("NOT NOT x = 'a'", false),
                // Unknown AND true is unknown; unknown AND false is false.
                ("x = 'a' AND status = 'a'", false),
                ("NOT (x = 'a' AND status = 'a')", false),
                ("NOT (x = 'a' AND status = 'b')", true),
                ("NOT (status = 'b' AND x = 'a')", true),
                // Unknown OR true is true; unknown OR false is unknown.
                ("x = 'a' OR status = 'a'", true),
                ("x = 'a' OR status = 'b'", false),
                ("NOT (x = 'a' OR status = 'b')", false),
                ("NOT (x = 'a' OR status = 'a')", false),
                ("x = 'a' OR x IS NULL", true),
            ] {
                check(text, f.clone(), expected);
            }
        }
        // A value of another JSON type than the queryable's is unknown as well.
        check("depth = 5", json!({"depth": "5"}), false);
        check("NOT depth = 5", json!({"depth": "5"}), false);
        check("cleared = TRUE", json!({"cleared": "true"}), false);
        check("NOT status = 'a'", json!({"status": 7}), false);
        check("status IS NOT NULL", json!({"status": 7}), true);
    }

    #[test]
    fn errors() {
        let long = format!("status = '{}'", "a".repeat(MAX_CHARS));
        let many = vec!["status = 'a'"; 300].join(" OR ");
        let deep = format!("{}status = 'a'{}", "(".repeat(70), ")".repeat(70));
        let nots = format!("{}status = 'a'", "NOT ".repeat(70));
        for (text, expected) in [
            ("", "the filter is empty"),
            ("   \n ", "the filter is empty"),
            (
                "status = 'cleared",
                "starting at character offset 9 is not terminated",
            ),
            (
                "\"status = 'a'",
                "quoted property name starting at character offset 0",
            ),
            (
                "colour = 'red'",
                "property 'colour' at character offset 0 is not a queryable",
            ),
            (
                "status = 'a' AND Depth = 1",
                "property 'Depth' at character offset 17",
            ),
            (
                "status = 5",
                "the literal 5 at character offset 9 is a number, but the property 'status' is a string",
            ),
            (
                "depth = '5'",
                "literal '5' at character offset 8 is a string, but the property 'depth' is a number",
            ),
            ("cleared = 1", "property 'cleared' is a boolean"),
            (
                "depth = TRUE",
                "literal TRUE at character offset 8 is a boolean",
            ),
            (
                "updated > '2026-10-01'",
                "write TIMESTAMP('2026-10-01T00:00:00Z') or DATE('2026-10-01')",
            ),
            (
                "status = DATE('2026-10-01')",
                "is a date, but the property 'status' is a string",
            ),
            (
                "cleared < TRUE",
                "operator < at character offset 8 cannot compare the property 'cleared'",
            ),
            (
                "TRUE >= cleared",
                "operator >= at character offset 5 cannot compare the property 'cleared'",
            ),
            (
                "status = 'a' AND",
                "the filter ends at character offset 16, where a predicate was expected",
            ),
            ("AND status = 'a'", "unexpected 'AND' at character offset 0"),
            (
                "status = 'a' AND AND depth = 1",
                "unexpected 'AND' at character offset 17",
            ),
            ("status = 'a' OR", "ends at character offset 15"),
            (
                "NOT",
                "ends at character offset 3, where a predicate was expected",
            ),
            ("(status = 'a'", "'(' at character offset 0 is never closed"),
            (
                "((status = 'a') AND depth = 1",
                "'(' at character offset 0 is never closed",
            ),
            (
                "status = 'a')",
                "')' at character offset 12 has no matching '('",
            ),
            ("()", "unexpected ')' at character offset 1"),
            (
                "(status = 'a' depth = 1)",
                "unexpected 'depth' at character offset 14, where AND, OR or ')' was expected",
            ),
            (
                "status = 'a' depth = 1",
                "unexpected 'depth' at character offset 13, where AND, OR or the end of the filter",
            ),
            (
                "status",
                "property 'status' at character offset 0 is not a predicate on its own",
            ),
            (
                "cleared AND depth = 1",
                "property 'cleared' at character offset 0 is not a predicate",
            ),
            (
                "status =",
                "ends at character offset 8, where a literal was expected",
            ),
            ("= 'a'", "unexpected '=' at character offset 0"),
            ("status == 'a'", "unexpected '=' at character offset 8"),
            ("status != 'a'", "CQL2 writes 'not equal' as <>"),
            (
                "status = name",
                "property 'name' at character offset 9 is compared with the property 'status'",
            ),
            ("'a' = 'a'", "has a literal on both sides"),
            ("status = NULL", "NULL at character offset 9 is not a value"),
            (
                "status IS 'a'",
                "unexpected 'a' at character offset 10, where NULL was expected",
            ),
            (
                "status IS NOT",
                "ends at character offset 13, where NULL was expected",
            ),
            (
                "depth LIKE 'a%'",
                "'a%' at character offset 11 is a pattern string, but the property 'depth' is",
            ),
            (
                "status LIKE 5",
                "the literal 5 at character offset 12 is a number",
            ),
            (
                "depth BETWEEN 1 2",
                "unexpected '2' at character offset 16, where AND between the bounds was expected",
            ),
            (
                "status IN 'a'",
                "where '(' and the list of values was expected",
            ),
            ("status not in ('a' 'b')", "where ',' or ')' was expected"),
            (
                "status IN ('a', 5)",
                "the literal 5 at character offset 16 is a number",
            ),
            (
                "S_DWITHIN(geometry, POINT(1 2), 10)",
                "'S_DWITHIN' at character offset 0 is not supported: a function call",
            ),
            (
                "T_AFTER(updated, TIMESTAMP('2026-01-01T00:00:00Z'))",
                "'T_AFTER' at character offset 0 is not supported",
            ),
            (
                "CASEI(status) = casei('a')",
                "'CASEI' at character offset 0 is not supported",
            ),
            (
                "depth + 1 > 2",
                "'+' at character offset 6 is not supported: arithmetic",
            ),
            (
                "depth > 2 * 3",
                "'*' at character offset 10 is not supported: arithmetic",
            ),
            (
                "depth > 2 - 3",
                "'-' at character offset 10 is not supported: arithmetic",
            ),
            (
                "depth div 2 = 1",
                "'div' at character offset 6 is not supported: arithmetic",
            ),
            (
                "status = ['a']",
                "'[' at character offset 9 is not supported: an array",
            ),
            (
                "status = 'a' LIKE 'b'",
                "unexpected 'LIKE' at character offset 13",
            ),
            (
                "depth = 1e999",
                "'1e999' at character offset 8 is not a valid finite number",
            ),
            (
                "depth = -",
                "ends at character offset 9, where a number after the sign was expected",
            ),
            (
                "depth = -'a'",
                "unexpected 'a' at character offset 9, where a number after the sign",
            ),
            (
                "updated = DATE('2026-13-01')",
                "DATE literal '2026-13-01' at character offset 15 is not valid",
            ),
            ("updated = DATE('2026-1-1')", "DATE literal '2026-1-1'"),
            (
                "updated = TIMESTAMP('2026-10-01')",
                "TIMESTAMP literal '2026-10-01' at character offset 20 is not valid",
            ),
            (
                "updated = TIMESTAMP('yesterday')",
                "TIMESTAMP literal 'yesterday'",
            ),
            (
                "updated = DATE(2026)",
                "unexpected '2026' at character offset 15",
            ),
            (
                "updated = DATE('2026-10-01'",
                "ends at character offset 27, where ')' was expected",
            ),
            (
                "status = 'a' ; DROP TABLE",
                "character ';' at character offset 13 is not valid",
            ),
            (
                "status = 'a' # comment",
                "character '#' at character offset 13",
            ),
            ("statüs = 'a'", "property 'statüs' at character offset 0"),
            ("\"hazard-type\" = 'ü' AND", "ends at character offset 23"),
            // A backslash is an ordinary character, so `\'` ends the string.
            (
                "name = 'it\\'s'",
                "string literal starting at character offset 13 is not terminated",
            ),
            (long.as_str(), "exceeds the limit of 10000 characters"),
            (many.as_str(), "more than 1000 tokens"),
            (
                deep.as_str(),
                "more than 64 levels deep at character offset 64",
            ),
            (
                nots.as_str(),
                "more than 64 levels deep at character offset 256",
            ),
        ] {
            check_err(text, expected);
        }
    }

    #[test]
    fn error_positions_count_characters_not_bytes() {
        let e = parse("\"hazard-type\" = 'é' AND ü = 'a'", Q);
        assert_eq!(e.as_ref().map_err(FilterError::position), Err(24));
        let e = parse("name = 'ééé' AND depth = 'a'", Q);
        assert_eq!(e.map_err(|e| e.position()), Err(25));
    }

    #[test]
    fn limits_are_inclusive() {
        let deep = format!("{}status = 'a'{}", "(".repeat(64), ")".repeat(64));
        assert!(parse(&deep, Q).is_ok());
        // 250 comparisons of three tokens joined by 249 ORs make 999 tokens.
        let many = vec!["status = 'a'"; 250].join(" OR ");
        assert!(parse(&many, Q).is_ok());
        let text = format!("status = '{}'", "a".repeat(MAX_CHARS - 11));
        assert_eq!(text.chars().count(), MAX_CHARS);
        assert!(parse(&text, Q).is_ok());
    }

    #[test]
    fn display_is_canonical_cql2() {
        for (text, canonical) in [
            ("status='a'", "status = 'a'"),
            ("\"status\" = 'it''s'", "status = 'it''s'"),
            ("\"and\" = 'x'", "\"and\" = 'x'"),
            ("3 < depth", "depth > 3"),
            ("depth = -2.50", "depth = -2.5"),
            (
                "NOT (status = 'a' OR name = 'b') AND depth IS NOT NULL",
                "NOT (status = 'a' OR name = 'b') AND depth IS NOT NULL",
            ),
            (
                "updated >= date('2026-10-01')",
                "updated >= DATE('2026-10-01')",
            ),
            (
                "updated < TIMESTAMP('2026-10-01T02:00:00+02:00')",
                "updated < TIMESTAMP('2026-10-01T00:00:00Z')",
            ),
            ("cleared = true", "cleared = TRUE"),
            (
                "(status = 'a' AND (name = 'b' AND x = 'c'))",
                "status = 'a' AND (name = 'b' AND x = 'c')",
            ),
        ] {
            match parse(text, Q) {
                Ok(expr) => assert_eq!(expr.to_string(), canonical, "{text:?}"),
                Err(e) => panic!("{text:?}: {e}"),
            }
        }
    }

    /// A feature with properties and a geometry, for the spatial functions.
    struct Shaped {
        props: Value,
        geometry: Option<Geometry<f64>>,
    }

    impl Feature for Shaped {
        fn property(&self, name: &str) -> Option<Value> {
            self.props.get(name).cloned()
        }

        fn geometry(&self, name: &str) -> Option<&Geometry<f64>> {
            if name == "geometry" {
                self.geometry.as_ref()
            } else {
                None
            }
        }
    }

    /// The unit square from (0, 0) to (1, 1) as a feature's geometry.
    fn square() -> Shaped {
        let p = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (1.0, 0.0),
                (1.0, 1.0),
                (0.0, 1.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        Shaped {
            props: json!({"status": "confirmed"}),
            geometry: Some(Geometry::MultiPolygon(MultiPolygon(vec![p]))),
        }
    }

    /// Parses `text`, checks its canonical text and JSON round trips, and evaluates it on `f`.
    fn spatial(text: &str, f: &Shaped) -> bool {
        let expr = parse(text, Q).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let canonical = expr.to_string();
        assert_eq!(parse(&canonical, Q), Ok(expr.clone()), "{canonical:?}");
        let json = expr.to_json();
        let from_json = parse_json(&json.to_string(), Q).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(from_json.to_json(), json);
        assert_eq!(
            eval_feature(&from_json, f),
            eval_feature(&expr, f),
            "{json}"
        );
        eval_feature(&expr, f)
    }

    #[test]
    fn spatial_functions_against_a_square() {
        let f = square();
        for (text, expected) in [
            // A point inside, on the edge, outside.
            ("S_INTERSECTS(geometry, POINT(0.5 0.5))", true),
            ("S_INTERSECTS(geometry, POINT(1 0.5))", true),
            ("S_INTERSECTS(geometry, POINT(2 2))", false),
            ("S_DISJOINT(geometry, POINT(2 2))", true),
            ("S_DISJOINT(geometry, POINT(0.5 0.5))", false),
            ("S_CONTAINS(geometry, POINT(0.5 0.5))", true),
            // A polygon does not contain a point of its boundary; it touches it.
            ("S_CONTAINS(geometry, POINT(1 0.5))", false),
            ("S_TOUCHES(geometry, POINT(1 0.5))", true),
            ("S_TOUCHES(geometry, POINT(0.5 0.5))", false),
            // Boxes.
            ("S_INTERSECTS(geometry, BBOX(0.9, 0.9, 3, 3))", true),
            ("S_INTERSECTS(geometry, BBOX(1.1, 0, 3, 3))", false),
            ("S_WITHIN(geometry, BBOX(-1, -1, 2, 2))", true),
            ("S_WITHIN(geometry, BBOX(-1, -1, 0.5, 2))", false),
            ("S_OVERLAPS(geometry, BBOX(0.5, 0.5, 2, 2))", true),
            ("S_OVERLAPS(geometry, BBOX(-1, -1, 2, 2))", false),
            ("S_EQUALS(geometry, BBOX(0, 0, 1, 1))", true),
            (
                "S_EQUALS(geometry, POLYGON((0 0, 0 1, 1 1, 1 0, 0 0)))",
                true,
            ),
            ("S_EQUALS(geometry, BBOX(0, 0, 1, 2))", false),
            ("S_TOUCHES(geometry, BBOX(1, 0, 2, 1))", true),
            // Lines.
            ("S_CROSSES(geometry, LINESTRING(-1 0.5, 2 0.5))", true),
            ("S_CROSSES(geometry, LINESTRING(0.2 0.5, 0.8 0.5))", false),
            ("S_CONTAINS(geometry, LINESTRING(0.2 0.5, 0.8 0.5))", true),
            ("S_TOUCHES(geometry, LINESTRING(1 0, 2 5))", true),
            (
                "S_INTERSECTS(geometry, MULTILINESTRING((5 5, 6 6), (0.5 -1, 0.5 0.1)))",
                true,
            ),
            // Many points, polygons, a collection.
            ("S_INTERSECTS(geometry, MULTIPOINT((5 5), (0.5 0.5)))", true),
            ("S_INTERSECTS(geometry, MULTIPOINT(5 5, 6 6))", false),
            (
                "S_CONTAINS(geometry, MULTIPOINT((0.1 0.1), (0.9 0.9)))",
                true,
            ),
            (
                "S_INTERSECTS(geometry, MULTIPOLYGON(((5 5, 6 5, 6 6, 5 5)), ((0.5 0.5, 3 0.5, 3 3, 0.5 0.5))))",
                true,
            ),
            (
                "S_INTERSECTS(geometry, POLYGON((-1 -1, 2 -1, 2 2, -1 2, -1 -1), (-0.5 -0.5, 1.5 -0.5, 1.5 1.5, -0.5 1.5, -0.5 -0.5)))",
                false,
            ),
            (
                "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(9 9), LINESTRING(0.5 2, 0.5 0.9)))",
                true,
            ),
            (
                "S_DISJOINT(geometry, GEOMETRYCOLLECTION(POINT(9 9), POLYGON((3 3, 4 3, 4 4, 3 3))))",
                true,
            ),
            // The literal first: S_WITHIN(literal, geometry) is S_CONTAINS(geometry, literal).
            ("S_WITHIN(POINT(0.5 0.5), geometry)", true),
            ("S_CONTAINS(BBOX(-1, -1, 2, 2), geometry)", true),
            ("S_CONTAINS(POINT(0.5 0.5), geometry)", false),
            // Third coordinates and elevations are dropped; keywords in any case.
            ("s_intersects(geometry, point z (0.5 0.5 100))", true),
            ("S_INTERSECTS(geometry, POINT(0.5 0.5 -3))", true),
            (
                "S_INTERSECTS(geometry, BBOX(0.9, 0.9, -10, 3, 3, 10))",
                true,
            ),
            (
                "S_INTERSECTS(\"geometry\", LINESTRING Z (5 5 1, 0.5 0.5 2))",
                true,
            ),
            // An EMPTY hole changes nothing.
            (
                "S_INTERSECTS(geometry, POLYGON((0.2 0.2, 3 0.2, 3 3, 0.2 0.2), EMPTY))",
                true,
            ),
            // Combined with comparisons.
            (
                "status = 'confirmed' AND NOT S_DISJOINT(geometry, POINT(0.5 0.5))",
                true,
            ),
            ("status = 'x' OR S_INTERSECTS(geometry, POINT(7 7))", false),
        ] {
            assert_eq!(spatial(text, &f), expected, "{text}");
        }
        // Every function, both ways round, agrees with geo's intersection matrix.
        for op in SpatialOp::ALL {
            let text = format!("{op}(geometry, POLYGON((0.5 0.5, 2 0.5, 2 2, 0.5 0.5)))");
            let literal = Polygon::new(
                LineString::from(vec![(0.5, 0.5), (2.0, 0.5), (2.0, 2.0), (0.5, 0.5)]),
                vec![],
            );
            let m = f.geometry.as_ref().unwrap().relate(&literal);
            let expected = match op {
                SpatialOp::Intersects => m.is_intersects(),
                SpatialOp::Equals => m.is_equal_topo(),
                SpatialOp::Disjoint => m.is_disjoint(),
                SpatialOp::Touches => m.is_touches(),
                SpatialOp::Within => m.is_within(),
                SpatialOp::Overlaps => m.is_overlaps(),
                SpatialOp::Crosses => m.is_crosses(),
                SpatialOp::Contains => m.is_contains(),
            };
            assert_eq!(spatial(&text, &f), expected, "{text}");
        }
    }

    #[test]
    fn spatial_functions_follow_three_valued_logic() {
        let none = Shaped {
            props: json!({"status": "confirmed"}),
            geometry: None,
        };
        // No geometry: the function is unknown, and so is its negation.
        for text in [
            "S_INTERSECTS(geometry, POINT(0 0))",
            "NOT S_INTERSECTS(geometry, POINT(0 0))",
            "S_DISJOINT(geometry, POINT(0 0))",
            "NOT S_DISJOINT(geometry, POINT(0 0))",
            "status = 'confirmed' AND S_INTERSECTS(geometry, POINT(0 0))",
        ] {
            assert!(!spatial(text, &none), "{text}");
        }
        // Unknown OR true is true; unknown AND false is false, and NOT of it true.
        assert!(spatial(
            "S_INTERSECTS(geometry, POINT(0 0)) OR status = 'confirmed'",
            &none
        ));
        assert!(spatial(
            "NOT (S_INTERSECTS(geometry, POINT(0 0)) AND status = 'x')",
            &none
        ));
        assert!(spatial("geometry IS NULL", &none));
        assert!(!spatial("geometry IS NULL", &square()));
        assert!(spatial("geometry IS NOT NULL", &square()));
        // Without a geometry at all (eval), the function is unknown too.
        let expr = parse("NOT S_INTERSECTS(geometry, POINT(0 0))", Q).unwrap();
        assert!(!eval(&expr, &|_: &str| None));
    }

    #[test]
    fn a_box_that_surely_covers_settles_what_it_misses() {
        /// A feature whose geometry must not be asked for: its box alone answers.
        struct BoxOnly;
        impl Feature for BoxOnly {
            fn property(&self, _: &str) -> Option<Value> {
                None
            }
            fn geometry(&self, _: &str) -> Option<&Geometry<f64>> {
                panic!("the geometry was built where the box settles it")
            }
            fn envelope(&self, _: &str) -> Option<Rect<f64>> {
                Some(Rect::new(
                    Coord { x: 0.0, y: 0.0 },
                    Coord { x: 1.0, y: 1.0 },
                ))
            }
        }
        for (op, expected) in [
            ("S_INTERSECTS", false),
            ("S_DISJOINT", true),
            ("S_WITHIN", false),
            ("S_CONTAINS", false),
            ("S_EQUALS", false),
            ("S_TOUCHES", false),
            ("S_OVERLAPS", false),
            ("S_CROSSES", false),
        ] {
            let expr = parse(&format!("{op}(geometry, POINT(5 5))"), Q).unwrap();
            assert_eq!(eval_feature(&expr, &BoxOnly), expected, "{op}");
        }
    }

    #[test]
    fn spatial_canonical_text() {
        for (text, canonical) in [
            (
                "s_intersects(geometry,point(1 2))",
                "S_INTERSECTS(geometry, POINT(1 2))",
            ),
            (
                "S_WITHIN( POINT ( -1.5 +2 ) , geometry )",
                "S_CONTAINS(geometry, POINT(-1.5 2))",
            ),
            (
                "S_INTERSECTS(geometry, BBOX(1, 2, 0, 3, 4, 9))",
                "S_INTERSECTS(geometry, BBOX(1, 2, 3, 4))",
            ),
            (
                "S_TOUCHES(geometry, MULTIPOINT(1 2, 3 4))",
                "S_TOUCHES(geometry, MULTIPOINT((1 2), (3 4)))",
            ),
            (
                "S_DISJOINT(geometry, POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 1), EMPTY))",
                "S_DISJOINT(geometry, POLYGON((0 0, 1 0, 1 1, 0 0), EMPTY))",
            ),
            (
                "S_EQUALS(geometry, GEOMETRYCOLLECTION(POINT(1 1), MULTILINESTRING((0 0, 1 1))))",
                "S_EQUALS(geometry, GEOMETRYCOLLECTION(POINT(1 1), MULTILINESTRING((0 0, 1 1))))",
            ),
        ] {
            match parse(text, Q) {
                Ok(expr) => assert_eq!(expr.to_string(), canonical, "{text:?}"),
                Err(e) => panic!("{text:?}: {e}"),
            }
        }
    }

    #[test]
    fn spatial_errors_name_their_position() {
        for (text, expected) in [
            (
                "S_INTERSECTS(status, POINT(1 2))",
                "the property 'status' at character offset 13 is a string, but a spatial function compares geometries: give the geometry property ('geometry')",
            ),
            (
                "S_INTERSECTS(geometry, geometry)",
                "property 'geometry' at character offset 23 is compared with the property 'geometry'",
            ),
            (
                "S_INTERSECTS(POINT(1 2), POINT(1 2))",
                "has a literal on both sides",
            ),
            (
                "S_INTERSECTS(geometry, POINT(1))",
                "unexpected ')' at character offset 30, where a latitude after the longitude was expected",
            ),
            (
                "S_INTERSECTS(geometry, POINT(1 2)",
                "ends at character offset 33, where ')' after the second argument was expected",
            ),
            (
                "S_INTERSECTS(geometry POINT(1 2))",
                "unexpected 'POINT' at character offset 22, where ',' between the two arguments",
            ),
            (
                "S_INTERSECTS(geometry, CIRCLE(1 2))",
                "'CIRCLE' at character offset 23 is not supported: a function call",
            ),
            (
                "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 1)))",
                "the POLYGON at character offset 31 is not a valid geometry: a ring must be closed",
            ),
            (
                "S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 0 0)))",
                "the POLYGON at character offset 31 is not a valid geometry: a ring needs at least four points",
            ),
            (
                "S_INTERSECTS(geometry, LINESTRING(0 0))",
                "the LINESTRING at character offset 33 is not a valid geometry: a line needs at least two points",
            ),
            (
                "S_INTERSECTS(geometry, BBOX(10, 0, 5, 1))",
                "the BBOX at character offset 23 is not a valid geometry: a box needs west <= east",
            ),
            (
                "S_INTERSECTS(geometry, BBOX(1, 2, 3))",
                "the BBOX at character offset 23 is not a valid geometry: a box has four numbers",
            ),
            (
                "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(BBOX(1, 2, 3, 4)))",
                "unexpected 'BBOX' at character offset 42",
            ),
            (
                "S_INTERSECTS(geometry, POINT(1e999 2))",
                "'1e999' at character offset 29 is not a valid finite number",
            ),
            (
                "S_INTERSECTS(colour, POINT(1 2))",
                "property 'colour' at character offset 13 is not a queryable",
            ),
            (
                "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))",
                "the POLYGON at character offset 23 is not a valid geometry: exterior ring has a self-intersection",
            ),
            (
                "S_INTERSECTS(geometry, LINESTRING(1 1, 1 1))",
                "the LINESTRING at character offset 23 is not a valid geometry",
            ),
            (
                "geometry = 'POINT(1 2)'",
                "the property 'geometry' is a geometry (test it with a spatial function",
            ),
            (
                "geometry LIKE 'x'",
                "but the property 'geometry' is a geometry",
            ),
        ] {
            check_err(text, expected);
        }
    }

    #[test]
    fn cql2_json_reads_as_the_text_form() {
        for (json, text) in [
            (
                r#"{"op": "=", "args": [{"property": "status"}, "cleared"]}"#,
                "status = 'cleared'",
            ),
            (
                r#"{"op": "<", "args": [5, {"property": "depth"}]}"#,
                "depth > 5",
            ),
            (
                r#"{"op": "and", "args": [{"op": ">=", "args": [{"property": "updated"}, {"timestamp": "2026-10-01T02:00:00+02:00"}]}, {"op": "<", "args": [{"property": "date"}, {"date": "2026-10-02"}]}]}"#,
                "updated >= TIMESTAMP('2026-10-01T00:00:00Z') AND date < DATE('2026-10-02')",
            ),
            (
                r#"{"op": "or", "args": [{"op": "not", "args": [{"op": "isNull", "args": [{"property": "name"}]}]}, true]}"#,
                "NOT name IS NULL OR TRUE",
            ),
            (
                r#"{"op": "like", "args": [{"property": "name"}, "Field%"]}"#,
                "name LIKE 'Field%'",
            ),
            (
                r#"{"op": "between", "args": [{"property": "depth"}, 1, 5]}"#,
                "depth BETWEEN 1 AND 5",
            ),
            (
                r#"{"op": "in", "args": [{"property": "status"}, ["a", "b"]]}"#,
                "status IN ('a', 'b')",
            ),
            (
                r#"{"op": "in", "args": [{"property": "status"}, ["a"]]}"#,
                "status IN ('a')",
            ),
            (
                r#"{"op": "=", "args": [{"property": "cleared"}, false]}"#,
                "cleared = FALSE",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [36.1, 49.9]}]}"#,
                "S_INTERSECTS(geometry, POINT(36.1 49.9))",
            ),
            (
                r#"{"op": "s_within", "args": [{"bbox": [36, 49, 0, 37, 50, 100]}, {"property": "geometry"}]}"#,
                "S_CONTAINS(geometry, BBOX(36, 49, 37, 50))",
            ),
            (
                r#"{"op": "s_crosses", "args": [{"property": "geometry"}, {"type": "LineString", "coordinates": [[0, 0, 5], [1, 1, 5]]}]}"#,
                "S_CROSSES(geometry, LINESTRING(0 0, 1 1))",
            ),
            (
                r#"{"op": "s_overlaps", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}]}"#,
                "S_OVERLAPS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0)))",
            ),
            (
                r#"{"op": "s_touches", "args": [{"property": "geometry"}, {"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]}]}"#,
                "S_TOUCHES(geometry, MULTIPOINT((0 0), (1 1)))",
            ),
            (
                r#"{"op": "s_equals", "args": [{"property": "geometry"}, {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]]]}]}"#,
                "S_EQUALS(geometry, MULTILINESTRING((0 0, 1 1)))",
            ),
            (
                r#"{"op": "s_disjoint", "args": [{"property": "geometry"}, {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}]}"#,
                "S_DISJOINT(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0))))",
            ),
            (
                r#"{"op": "s_contains", "args": [{"property": "geometry"}, {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}]}]}"#,
                "S_CONTAINS(geometry, GEOMETRYCOLLECTION(POINT(0 0), LINESTRING(0 0, 1 1)))",
            ),
        ] {
            let from_json = parse_json(json, Q).unwrap_or_else(|e| panic!("{json}: {e}"));
            let from_text = parse(text, Q).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(from_json, from_text, "{json}");
        }
        // NOT LIKE and IS NOT NULL are `not` around like and isNull in JSON: the same filter.
        let f = json!({"name": "Field 3"});
        let get = |n: &str| f.get(n).cloned();
        for (json, text) in [
            (
                r#"{"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "Field%"]}]}"#,
                "name NOT LIKE 'Field%'",
            ),
            (
                r#"{"op": "not", "args": [{"op": "isNull", "args": [{"property": "name"}]}]}"#,
                "name IS NOT NULL",
            ),
        ] {
            let a = parse_json(json, Q).unwrap();
            let b = parse(text, Q).unwrap();
            assert_eq!(a.to_json(), b.to_json());
            assert_eq!(eval(&a, &get), eval(&b, &get));
        }
    }

    #[test]
    fn cql2_json_errors_name_where() {
        for (json, expected) in [
            (
                "{",
                "the filter is not valid JSON: EOF while parsing an object at line 1 column 1 (at the top of the document)",
            ),
            ("42", "42 is not a predicate"),
            (r#"{"args": []}"#, "has no \"op\""),
            (
                r#"{"property": "status"}"#,
                "a property is not a predicate on its own",
            ),
            (
                r#"{"op": "="}"#,
                "needs \"args\", an array (at JSON Pointer /args)",
            ),
            (
                r#"{"op": "=", "args": [{"property": "status"}]}"#,
                "the operation \"=\" takes 2 arguments, not 1 (at JSON Pointer /args)",
            ),
            (
                r#"{"op": "and", "args": [true, {"op": "=", "args": [{"property": "colour"}, "red"]}]}"#,
                "the property 'colour' is not a queryable of this collection (which are status, name",
            ),
            (
                r#"{"op": "and", "args": [true, {"op": "=", "args": [{"property": "colour"}, "red"]}]}"#,
                "(at JSON Pointer /args/1/args/0)",
            ),
            (
                r#"{"op": "=", "args": [{"property": "depth"}, "deep"]}"#,
                "the literal \"deep\" is a string, but the property 'depth' is a number (write a literal such as 42 or -1.5) (at JSON Pointer /args/1)",
            ),
            (
                r#"{"op": "<", "args": [{"property": "cleared"}, true]}"#,
                "the operator < cannot compare the property 'cleared'",
            ),
            (
                r#"{"op": "=", "args": [{"property": "status"}, {"property": "name"}]}"#,
                "compared with the property 'status'",
            ),
            (
                r#"{"op": "=", "args": ["a", "b"]}"#,
                "literal on both sides",
            ),
            (
                r#"{"op": "=", "args": [{"property": "status"}, null]}"#,
                "null is not a value that can be compared; use isNull (at JSON Pointer /args/1)",
            ),
            (
                r#"{"op": "t_after", "args": [{"property": "updated"}, {"timestamp": "2026-01-01T00:00:00Z"}]}"#,
                "the operation \"t_after\" is not supported: a temporal function is outside",
            ),
            (
                r#"{"op": "=", "args": [{"op": "casei", "args": [{"property": "status"}]}, "a"]}"#,
                "\"casei\" is not supported: case- and accent-insensitive comparison",
            ),
            (
                r#"{"op": "=", "args": [{"property": "updated"}, {"timestamp": "yesterday"}]}"#,
                "the timestamp \"yesterday\" is not valid",
            ),
            (
                r#"{"op": "=", "args": [{"property": "updated"}, {"date": "2026-13-01"}]}"#,
                "the date \"2026-13-01\" is not valid",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "status"}, {"type": "Point", "coordinates": [1, 2]}]}"#,
                "the property 'status' is a string, but a spatial function compares geometries (at JSON Pointer /args/0)",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}]}"#,
                "a ring must be closed, its last position the same as its first (at JSON Pointer /args/1/coordinates/0)",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", "coordinates": [1]}]}"#,
                "a position is an array of two numbers (longitude, latitude) or three (with the elevation) (at JSON Pointer /args/1/coordinates)",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Circle", "coordinates": [1, 2]}]}"#,
                "\"Circle\" is not a GeoJSON geometry type",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [10, 0, 5, 1]}]}"#,
                "a bbox needs west <= east and south <= north",
            ),
            (
                r#"{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}]}"#,
                "the geometry is not valid: exterior ring has a self-intersection (at JSON Pointer /args/1)",
            ),
            (
                r#"{"op": "in", "args": [{"property": "status"}, []]}"#,
                "must be a non-empty array of literals",
            ),
            (
                r#"{"op": "like", "args": [{"property": "depth"}, "1%"]}"#,
                "LIKE needs a string property, but 'depth' is a number",
            ),
        ] {
            match parse_json(json, Q) {
                Ok(e) => panic!("{json} parsed as {e:?}"),
                Err(e) => {
                    let message = e.to_string();
                    assert!(
                        message.contains(expected),
                        "{json}: {message:?} lacks {expected:?}"
                    );
                    assert!(message.contains("(at "), "{message:?} names no place");
                }
            }
        }
        // Deep nesting is refused, by the JSON reader's own limit (two levels a `not`) before
        // the filter's, and allowed within both.
        let nots = |n: usize| {
            format!(
                "{}true{}",
                "{\"op\": \"not\", \"args\": [".repeat(n),
                "]}".repeat(n)
            )
        };
        assert!(parse_json(&nots(60), Q).is_ok());
        let e = parse_json(&nots(65), Q).unwrap_err().to_string();
        assert!(
            e.contains("recursion limit exceeded") || e.contains("more than 64 levels deep"),
            "{e}"
        );
    }

    #[test]
    fn sortby_keys_and_order() {
        let keys = parse_sortby("name,-updated, depth,+cleared", Q).unwrap();
        assert_eq!(
            keys.iter()
                .map(|k| (k.property.as_str(), k.descending))
                .collect::<Vec<_>>(),
            [
                ("name", false),
                ("updated", true),
                ("depth", false),
                ("cleared", false)
            ]
        );
        for (text, expected) in [
            (
                "colour",
                "\"colour\" is not a sortable property of this collection (the sortables are status, name",
            ),
            ("geometry", "\"geometry\" is not a sortable property"),
            ("name,,depth", "key 2 of \"name,,depth\" names no property"),
            ("-", "key 1 of \"-\" names no property"),
            ("name,-name", "\"name\" is given more than once"),
        ] {
            let e = parse_sortby(text, Q).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
        // Nulls and values of another type last in either direction; ties to the next key.
        let rows = [
            json!({"name": "b", "depth": 1}),
            json!({"name": "a", "depth": 2}),
            json!({"depth": 3}),
            json!({"name": 7, "depth": 4}),
            json!({"name": "a", "depth": 5}),
            json!({"name": "c", "updated": "2026-10-01", "depth": 6}),
            json!({"name": "c", "updated": "2026-10-01T12:00:00+02:00", "depth": 7}),
        ];
        let order = |text: &str| -> Vec<i64> {
            let keys = parse_sortby(text, Q).unwrap();
            let mut v: Vec<(Vec<SortValue>, i64)> = rows
                .iter()
                .map(|r| {
                    (
                        sort_values(&keys, &|n| r.get(n).cloned()),
                        r["depth"].as_i64().unwrap(),
                    )
                })
                .collect();
            v.sort_by(|a, b| compare_sort_values(&keys, &a.0, &b.0));
            v.into_iter().map(|(_, d)| d).collect()
        };
        assert_eq!(order("name"), [2, 5, 1, 6, 7, 3, 4]);
        assert_eq!(order("-name"), [6, 7, 1, 2, 5, 3, 4]);
        assert_eq!(order("name,-depth"), [5, 2, 1, 7, 6, 4, 3]);
        assert_eq!(order("-updated,depth"), [7, 6, 1, 2, 3, 4, 5]);
        assert_eq!(order(" updated"), [6, 7, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn random_expressions_round_trip_through_json() {
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        for _ in 0..2_000 {
            let expr = random_expr(&mut rng, 5);
            let json = expr.to_json();
            let parsed = parse_json(&json.to_string(), Q)
                .unwrap_or_else(|e| panic!("{json} from {expr:?}: {e}"));
            assert_eq!(parsed.to_json(), json);
            // And the text of what was read parses to the same filter.
            assert_eq!(parse(&parsed.to_string(), Q), Ok(parsed));
        }
    }

    #[test]
    fn api_constants() {
        assert_eq!(FILTER_LANG, "cql2-text");
        assert!(
            CONFORMANCE_CLASSES
                .iter()
                .any(|c| c.ends_with("/basic-cql2"))
        );
        assert_eq!(QueryableType::Timestamp.to_string(), "a timestamp");
        assert_eq!(CompareOp::Ne.to_string(), "<>");
        assert_eq!(FilterError::Empty.position(), 0);
    }

    /// A small deterministic generator (xorshift), so the randomised tests need no dependency.
    struct Rng(u64);

    impl Rng {
        fn step(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.step() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    fn random_coord(rng: &mut Rng) -> Coord<f64> {
        let n = [
            0.0, -1.5, 36.25, 49.9, 1e-7, -180.0, 90.0, 123456.789, -0.001,
        ];
        Coord {
            x: *rng.pick(&n),
            y: *rng.pick(&n),
        }
    }

    /// A line whose first two points differ (geo's validation wants two distinct points).
    fn random_line(rng: &mut Rng) -> LineString<f64> {
        let a = random_coord(rng);
        let mut points = vec![
            a,
            Coord {
                x: a.x + 1.0,
                y: a.y - 0.5,
            },
        ];
        points.extend((0..rng.below(3)).map(|_| random_coord(rng)));
        LineString(points)
    }

    /// A valid polygon: a box, perhaps with a hole inside it, an EMPTY hole, or empty.
    fn random_polygon(rng: &mut Rng) -> Polygon<f64> {
        if rng.below(10) == 0 {
            return Polygon::new(LineString(Vec::new()), vec![]);
        }
        let a = random_coord(rng);
        let (w, h) = (*rng.pick(&[1.0, 2.5, 0.125]), *rng.pick(&[1.0, 3.0, 0.25]));
        let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
            Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 })
                .to_polygon()
                .exterior()
                .clone()
        };
        let holes = match rng.below(3) {
            0 => vec![rect(
                a.x + w * 0.25,
                a.y + h * 0.25,
                a.x + w * 0.75,
                a.y + h * 0.75,
            )],
            1 => vec![LineString(Vec::new())],
            _ => vec![],
        };
        Polygon::new(rect(a.x, a.y, a.x + w, a.y + h), holes)
    }

    fn random_geometry(rng: &mut Rng, member: bool) -> Geometry<f64> {
        match rng.below(if member { 6 } else { 8 }) {
            0 => Geometry::Point(Point(random_coord(rng))),
            1 => Geometry::LineString(random_line(rng)),
            2 => Geometry::Polygon(random_polygon(rng)),
            3 => Geometry::MultiPoint(MultiPoint(
                (0..1 + rng.below(3))
                    .map(|_| Point(random_coord(rng)))
                    .collect(),
            )),
            4 => Geometry::MultiLineString(MultiLineString(
                (0..1 + rng.below(3)).map(|_| random_line(rng)).collect(),
            )),
            5 => {
                // Apart, as a valid multipolygon's parts are.
                let mut parts = vec![random_polygon(rng)];
                if rng.below(2) == 0 {
                    let mut far = random_polygon(rng);
                    far.exterior_mut(|e| e.0.iter_mut().for_each(|c| c.x += 1000.0));
                    far.interiors_mut(|h| {
                        h.iter_mut()
                            .for_each(|r| r.0.iter_mut().for_each(|c| c.x += 1000.0))
                    });
                    parts.push(far);
                }
                Geometry::MultiPolygon(MultiPolygon(parts))
            }
            6 => Geometry::GeometryCollection(GeometryCollection(
                (0..1 + rng.below(3))
                    .map(|_| random_geometry(rng, true))
                    .collect(),
            )),
            _ => {
                let (a, b) = (random_coord(rng), random_coord(rng));
                Geometry::Rect(Rect::new(a, b))
            }
        }
    }

    fn random_expr(rng: &mut Rng, depth: usize) -> Expr {
        let ops = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Lt,
            CompareOp::Gt,
            CompareOp::Le,
            CompareOp::Ge,
        ];
        let leaf = depth == 0 || rng.below(3) == 0;
        if leaf {
            let (property, kind) = *rng.pick(Q);
            let property = property.to_string();
            return match rng.below(6) {
                0 => Expr::IsNull {
                    property,
                    negated: rng.below(2) == 0,
                },
                1 => Expr::Literal(rng.below(2) == 0),
                2 if kind == QueryableType::String => Expr::Like {
                    property,
                    pattern: rng.pick(&["%", "a_", "\\%'", "", "Ünï%✓"]).to_string(),
                    negated: rng.below(2) == 0,
                },
                _ => {
                    let value = match kind {
                        QueryableType::Geometry => {
                            return Expr::Spatial {
                                op: *rng.pick(&SpatialOp::ALL),
                                property,
                                geometry: random_geometry(rng, false),
                            };
                        }
                        QueryableType::String => Literal::String(
                            rng.pick(&["", "a", "it's", "''", "\\", "Ünï ✓", "AND", " x "])
                                .to_string(),
                        ),
                        QueryableType::Number => Literal::Number(*rng.pick(&[
                            0.0,
                            -1.0,
                            2.5,
                            -0.001,
                            1e-7,
                            123456789.125,
                            1e21,
                            -3e-12,
                        ])),
                        QueryableType::Boolean => Literal::Boolean(rng.below(2) == 0),
                        QueryableType::Timestamp => {
                            if rng.below(2) == 0 {
                                Literal::Date(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
                            } else {
                                Literal::Timestamp(
                                    DateTime::parse_from_rfc3339(rng.pick::<&str>(&[
                                        "2026-10-01T00:00:00Z",
                                        "2026-10-01T12:30:00.123+02:00",
                                        "1999-12-31T23:59:59.999999999Z",
                                    ]))
                                    .unwrap()
                                    .with_timezone(&Utc),
                                )
                            }
                        }
                    };
                    let op = if kind == QueryableType::Boolean {
                        *rng.pick(&[CompareOp::Eq, CompareOp::Ne])
                    } else {
                        *rng.pick(&ops)
                    };
                    Expr::Compare {
                        property,
                        op,
                        value,
                    }
                }
            };
        }
        match rng.below(3) {
            0 => Expr::Not(Box::new(random_expr(rng, depth - 1))),
            kind => {
                let n = 2 + rng.below(3);
                let operands = (0..n).map(|_| random_expr(rng, depth - 1)).collect();
                if kind == 1 {
                    Expr::And(operands)
                } else {
                    Expr::Or(operands)
                }
            }
        }
    }

    #[test]
    fn random_expressions_round_trip_through_text() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2_000 {
            let expr = random_expr(&mut rng, 5);
            let text = expr.to_string();
            assert_eq!(parse(&text, Q), Ok(expr), "{text}");
        }
    }

    #[test]
    fn mutated_and_random_text_never_panics() {
        let pieces = [
            "status",
            "depth",
            "cleared",
            "updated",
            "\"and\"",
            "colour",
            "=",
            "<>",
            "<",
            ">=",
            "'a'",
            "'it''s'",
            "'",
            "\"",
            "5",
            "-",
            "+",
            "1e",
            ".5",
            "1.2.3",
            "TRUE",
            "NULL",
            "AND",
            "OR",
            "NOT",
            "IS",
            "LIKE",
            "IN",
            "(",
            ")",
            "[",
            ",",
            "DATE",
            "TIMESTAMP",
            "('2026-10-01')",
            "S_INTERSECTS",
            " ",
            "é",
            "!",
            "\\",
        ];
        let mut rng = Rng(42);
        let mut parsed = 0;
        for round in 0..20_000 {
            let text = if round % 2 == 0 {
                // A valid filter with a few words deleted, inserted, swapped or duplicated.
                let valid = random_expr(&mut rng, 3).to_string();
                let mut words: Vec<String> = valid.split(' ').map(str::to_string).collect();
                for _ in 0..rng.below(3) {
                    let i = rng.below(words.len());
                    match rng.below(4) {
                        0 if words.len() > 1 => {
                            words.remove(i);
                        }
                        1 => words.insert(i, rng.pick(&pieces).to_string()),
                        2 => {
                            let j = rng.below(words.len());
                            words.swap(i, j);
                        }
                        _ => {
                            let word = words[i].clone();
                            words.insert(i, word);
                        }
                    }
                }
                words.join(" ")
            } else {
                // Random pieces, with or without spaces between them.
                let n = rng.below(12);
                let separator = if rng.below(2) == 0 { " " } else { "" };
                (0..n)
                    .map(|_| *rng.pick(&pieces))
                    .collect::<Vec<_>>()
                    .join(separator)
            };
            match parse(&text, Q) {
                Ok(expr) => {
                    parsed += 1;
                    let get = |_: &str| Some(json!("a"));
                    let _ = eval(&expr, &get);
                    assert_eq!(parse(&expr.to_string(), Q), Ok(expr), "{text:?}");
                }
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.contains("character offset"), "{text:?}: {message}");
                    assert!(e.position() <= text.chars().count().max(MAX_CHARS));
                }
            }
        }
        // Enough of the inputs are valid filters for the round trip to be exercised.
        assert!(parsed > 2_000, "only {parsed} inputs parsed");
    }
}
