//! CQL2 text filters for OGC API – Features Part 3: Basic CQL2 and the advanced comparison
//! operators (`LIKE`, `BETWEEN`, `IN`).
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
//!   `DATE('2026-10-01')`, and the stand-alone predicates `TRUE` and `FALSE`.
//!
//! Keywords are case-insensitive; property names are case-sensitive and may be double-quoted
//! (`"status"`), which is needed for names that are keywords or contain characters such as `-`.
//! Everything else in CQL2 (functions such as `S_INTERSECTS` or `CASEI`,
//! arithmetic, arrays, comparisons between two properties) is refused with
//! [`FilterError::Unsupported`] or a similarly specific error.
//!
//! Every literal must fit the type of the property it is compared with: strings with `String`,
//! numbers with `Number`, `TRUE`/`FALSE` with `Boolean` (and only with `=` and `<>`), and
//! `TIMESTAMP(…)`/`DATE(…)` with `Timestamp`. Properties of type `Timestamp` hold RFC 3339 strings
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
//! for an absent or null property. Strings compare by Unicode code points and numbers numerically
//! (as `f64`).
//!
//! To keep a request from tying up the server, a filter is limited to [`MAX_CHARS`] characters,
//! [`MAX_TOKENS`] tokens and a nesting of [`MAX_DEPTH`] parentheses and `NOT`s.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;

/// The value of `filter-lang` that selects this parser.
pub const FILTER_LANG: &str = "cql2-text";

/// The CQL2 conformance classes this module implements, for the `/conformance` document.
pub const CONFORMANCE_CLASSES: [&str; 3] = [
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
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
pub fn eval(expr: &Expr, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    truth(expr, get) == Some(true)
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
            | FilterError::NullLiteral { position } => *position,
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
        }
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

/// The words that cannot be unquoted property names.
const RESERVED: [&str; 11] = [
    "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "LIKE", "BETWEEN", "IN", "DIV",
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

    /// A comparison, an `IS [NOT] NULL` test or a stand-alone boolean literal.
    fn parse_predicate(&mut self) -> Result<Expr, FilterError> {
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
fn truth(expr: &Expr, get: &dyn Fn(&str) -> Option<Value>) -> Option<bool> {
    match expr {
        Expr::Literal(b) => Some(*b),
        Expr::Not(inner) => truth(inner, get).map(|b| !b),
        Expr::And(operands) => {
            let mut unknown = false;
            for operand in operands {
                match truth(operand, get) {
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
                match truth(operand, get) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Expr::IsNull { property, negated } => {
            let null = matches!(get(property), None | Some(Value::Null));
            Some(null != *negated)
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
                "S_INTERSECTS(geometry, POINT(1 2))",
                "'S_INTERSECTS' at character offset 0 is not supported: a function call",
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
                _ => {
                    let value = match kind {
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
