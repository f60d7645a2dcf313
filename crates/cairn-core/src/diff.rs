//! What changed between two revisions of a record, field by field, for history.

use serde::Serialize;
use serde_json::Value;

use crate::area::HazardArea;

/// One changed field: its name and the values before and after (`null` when absent).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// The fields that differ between `old` and `new`; the geometry counts as one field.
pub fn diff(old: &HazardArea, new: &HazardArea) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if old.shape != new.shape {
        out.push(FieldChange {
            field: "geometry".into(),
            from: Value::String(summary(old)),
            to: Value::String(summary(new)),
        });
    }
    let a = serde_json::to_value(&old.props).unwrap_or(Value::Null);
    let b = serde_json::to_value(&new.props).unwrap_or(Value::Null);
    if let (Value::Object(a), Value::Object(b)) = (a, b) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let x = a.get(k).cloned().unwrap_or(Value::Null);
            let y = b.get(k).cloned().unwrap_or(Value::Null);
            if x != y {
                out.push(FieldChange {
                    field: k.clone(),
                    from: x,
                    to: y,
                });
            }
        }
    }
    out
}

fn summary(a: &HazardArea) -> String {
    use geo::CoordsIter;
    let g = a.shape.geometry();
    format!("{} of {} positions", a.shape.type_name(), g.coords_count())
}
