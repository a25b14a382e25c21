//! The rule language of the intake forms: CEL (Common Expression Language),
//! through the kept `cel` crate. CEL is small, side-effect free and
//! deterministic: a rule can read field values and the applicant profile,
//! and can do nothing else.
//!
//! What a rule can see: every top-level field by its id; `row` (the current
//! row) inside a repeat group; `applicant` (the profile: see
//! [`PROFILE_KEYS`]); `today` as `"YYYY-MM-DD"`. Dates are ISO strings, so
//! they compare as text. Money and decimals are numbers (`double`).
//!
//! CEL has no static type checker in Rust, so the loader checks rules by
//! evaluating each one against sample values of the declared field types:
//! an unknown name or a type mismatch (`age > "18"`) is a load error with
//! the rule's place, not a surprise at the window.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use cel::objects::{Key, Map};
use cel::{Context, Env, Program, Value};

/// The applicant profile keys a rule or a default may use, with their kind.
pub const PROFILE_KEYS: &[(&str, SampleKind)] = &[
    ("type", SampleKind::Text),
    ("name", SampleKind::Text),
    ("id_type", SampleKind::Text),
    ("id_number", SampleKind::Text),
    ("sex", SampleKind::Text),
    ("ethnicity", SampleKind::Text),
    ("birth_date", SampleKind::Text),
    ("age", SampleKind::Integer),
    ("phone", SampleKind::Text),
    ("address", SampleKind::Text),
    ("region_code", SampleKind::Text),
    ("credit_code", SampleKind::Text),
    ("legal_representative", SampleKind::Text),
    ("entity_type", SampleKind::Text),
    ("bad_credit", SampleKind::Bool),
];

/// What sort of value a name holds, for checking rules at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    Text,
    Integer,
    Number,
    Bool,
    TextList,
    /// An address: a map with `region_code` and `detail`.
    Address,
}

impl SampleKind {
    fn samples(self) -> [Value; 2] {
        match self {
            SampleKind::Text => [Value::from(""), Value::from("2026-01-01")],
            SampleKind::Integer => [Value::Int(0), Value::Int(7)],
            SampleKind::Number => [Value::Float(0.0), Value::Float(12.5)],
            SampleKind::Bool => [Value::Bool(false), Value::Bool(true)],
            SampleKind::TextList => [
                Value::List(Arc::new(vec![])),
                Value::List(Arc::new(vec![Value::from("a")])),
            ],
            SampleKind::Address => [address("", ""), address("420102", "x")],
        }
    }

    /// Whether a rule's result of this value is of the wanted kind.
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (SampleKind::Text, Value::String(_))
                | (SampleKind::Integer, Value::Int(_))
                | (SampleKind::Number, Value::Float(_) | Value::Int(_))
                | (SampleKind::Bool, Value::Bool(_))
                | (SampleKind::TextList, Value::List(_))
                | (SampleKind::Address, Value::Map(_))
        )
    }
}

fn address(region: &str, detail: &str) -> Value {
    let mut map = BTreeMap::new();
    map.insert("region_code".to_owned(), Value::from(region));
    map.insert("detail".to_owned(), Value::from(detail));
    map_value(map)
}

/// A CEL map from string keys.
pub fn map_value(entries: BTreeMap<String, Value>) -> Value {
    let map: std::collections::HashMap<Key, Value> = entries
        .into_iter()
        .map(|(key, value)| (Key::from(key), value))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

fn environment() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib())).clone()
}

/// A new evaluation context with the standard library.
pub fn new_context() -> Context<'static, 'static> {
    Context::with_env(environment())
}

/// A compiled rule and its source text.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    program: Arc<Program>,
}

impl Expression {
    /// Compiles a rule; the error is the parser's message.
    pub fn compile(source: &str) -> Result<Self, String> {
        // The parser is generated code: guard against a panic on odd input.
        let compiled = std::panic::catch_unwind(|| environment().compile(source))
            .map_err(|_| "the rule could not be parsed".to_owned())?;
        let program = compiled.map_err(|error| error.to_string().trim().to_owned())?;
        Ok(Expression {
            source: source.to_owned(),
            program: Arc::new(program),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The free variable names the rule uses.
    pub fn variables(&self) -> Vec<String> {
        self.program
            .references()
            .variables()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Evaluates the rule; errors are returned as text.
    pub fn evaluate(&self, context: &Context) -> Result<Value, String> {
        let program = &self.program;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| program.execute(context)))
            .map_err(|_| "the rule failed while evaluating".to_owned())?
            .map_err(|error| error.to_string())
    }

    /// Evaluates a rule that must give yes or no.
    pub fn evaluate_bool(&self, context: &Context) -> Result<bool, String> {
        match self.evaluate(context)? {
            Value::Bool(answer) => Ok(answer),
            other => Err(format!("gave {other:?}, not true or false")),
        }
    }
}

/// The names a rule may use, with the kind of value each holds.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub names: BTreeMap<String, SampleKind>,
    /// Repeat groups visible by name: their rows' field kinds.
    pub groups: BTreeMap<String, BTreeMap<String, SampleKind>>,
    /// Inside a repeat group: the fields of `row`.
    pub row: Option<BTreeMap<String, SampleKind>>,
}

impl Scope {
    /// Checks a rule against sample values: every name must exist and the
    /// result must be of kind `wanted`. The message names what is wrong.
    pub fn check(&self, expression: &Expression, wanted: SampleKind) -> Result<(), String> {
        for variable in expression.variables() {
            let known = self.names.contains_key(&variable)
                || self.groups.contains_key(&variable)
                || variable == "applicant"
                || variable == "today"
                || (variable == "row" && self.row.is_some());
            // Variables bound by CEL macros (`list.all(x, ...)`) are reported
            // too; they are checked by evaluation below.
            if !known && !expression.source().contains(&format!("({variable},")) {
                return Err(format!("unknown name `{variable}`"));
            }
        }
        for sample in 0..2 {
            let context = self.sample_context(sample);
            let value = expression.evaluate(&context)?;
            if !wanted.accepts(&value) {
                return Err(format!("must give {wanted:?}, gives {value:?}"));
            }
        }
        Ok(())
    }

    fn sample_context(&self, sample: usize) -> Context<'static, 'static> {
        let mut context = new_context();
        for (name, kind) in &self.names {
            context.add_variable_from_value(name.clone(), kind.samples()[sample].clone());
        }
        for (name, fields) in &self.groups {
            let row = sample_row(fields, sample);
            let rows = if sample == 0 { vec![] } else { vec![row] };
            context.add_variable_from_value(name.clone(), Value::List(Arc::new(rows)));
        }
        if let Some(row) = &self.row {
            context.add_variable_from_value("row", sample_row(row, sample));
        }
        let profile: BTreeMap<String, SampleKind> = PROFILE_KEYS
            .iter()
            .map(|(key, kind)| ((*key).to_owned(), *kind))
            .collect();
        context.add_variable_from_value("applicant", sample_row(&profile, sample));
        context.add_variable_from_value("today", Value::from("2026-11-27"));
        context
    }
}

fn sample_row(fields: &BTreeMap<String, SampleKind>, sample: usize) -> Value {
    map_value(
        fields
            .iter()
            .map(|(name, kind)| (name.clone(), kind.samples()[sample].clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scope() -> Scope {
        let mut scope = Scope::default();
        scope.names.insert("capital".into(), SampleKind::Number);
        scope.names.insert("employees".into(), SampleKind::Integer);
        scope.names.insert("delegated".into(), SampleKind::Bool);
        let mut holder = BTreeMap::new();
        holder.insert("share".into(), SampleKind::Number);
        scope.groups.insert("shareholders".into(), holder);
        scope
    }

    #[test]
    fn good_rules_pass_the_load_check() {
        let scope = scope();
        for (rule, kind) in [
            ("capital >= 30000.0", SampleKind::Bool),
            ("employees > 10 && delegated", SampleKind::Bool),
            ("size(shareholders) <= 50", SampleKind::Bool),
            ("shareholders.all(s, s.share > 0.0)", SampleKind::Bool),
            ("applicant.type == 'legal_person'", SampleKind::Bool),
            ("capital * 0.1", SampleKind::Number),
            ("today >= '2026-01-01'", SampleKind::Bool),
        ] {
            let expression = Expression::compile(rule).unwrap();
            scope
                .check(&expression, kind)
                .unwrap_or_else(|e| panic!("{rule}: {e}"));
        }
    }

    #[test]
    fn typos_and_type_errors_are_load_errors() {
        let scope = scope();
        let typo = Expression::compile("capitol > 0.0").unwrap();
        assert!(scope
            .check(&typo, SampleKind::Bool)
            .unwrap_err()
            .contains("capitol"));
        let mismatch = Expression::compile("employees > '10'").unwrap();
        assert!(scope.check(&mismatch, SampleKind::Bool).is_err());
        let not_bool = Expression::compile("employees + 1").unwrap();
        assert!(scope
            .check(&not_bool, SampleKind::Bool)
            .unwrap_err()
            .contains("Bool"));
        let row_outside_group = Expression::compile("row.share > 0.0").unwrap();
        assert!(scope.check(&row_outside_group, SampleKind::Bool).is_err());
        assert!(Expression::compile("capital >").is_err());
    }

    #[test]
    fn evaluation_reads_the_context() {
        let mut context = new_context();
        context.add_variable_from_value("capital", Value::Float(50000.0));
        let rule = Expression::compile("capital >= 30000.0").unwrap();
        assert!(rule.evaluate_bool(&context).unwrap());
        let text = Expression::compile("'x'").unwrap();
        assert!(text.evaluate_bool(&context).is_err());
    }

    proptest! {
        #[test]
        fn no_rule_text_panics(source in "[a-z0-9 ><=!&|+*/().,'\"\\[\\]-]{0,40}") {
            if let Ok(expression) = Expression::compile(&source) {
                let _ = scope().check(&expression, SampleKind::Bool);
            }
        }
    }
}
