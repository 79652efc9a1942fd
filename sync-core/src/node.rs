//! A plain, owned tree view of (part of) an Automerge document.
//!
//! The rulebook, the diff and the compensation all work on `Node`s rather than on the document:
//! they stay pure functions, testable without Automerge, and identical on the phone and the server.
//! Strings written as Automerge text objects (what JavaScript automerge 3 writes by default) and
//! scalar strings compare equal and read the same way.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ScalarValue, hydrate, transaction::Transactable};

/// One value of the document.
#[derive(Clone, Debug)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    F64(f64),
    /// A scalar string.
    Str(String),
    /// A text object (collaborative string); reads exactly like [`Node::Str`].
    Text(String),
    Map(BTreeMap<String, Node>),
    List(Vec<Node>),
    /// Any other scalar (bytes, counter, timestamp, unknown): kept so it can be restored verbatim.
    Other(ScalarValue),
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        use Node::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (F64(a), F64(b)) => a.to_bits() == b.to_bits(),
            (Int(a), F64(b)) | (F64(b), Int(a)) => (*a as f64) == *b,
            (Str(a) | Text(a), Str(b) | Text(b)) => a == b,
            (Map(a), Map(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Other(a), Other(b)) => a == b,
            _ => false,
        }
    }
}

impl Node {
    pub fn map() -> Self {
        Node::Map(BTreeMap::new())
    }

    /// The string, whether stored as a scalar or as a text object.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) | Node::Text(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, accepting the whole floats that JavaScript writes for numbers.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Int(i) => Some(*i),
            Node::F64(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Node::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Node>> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// A field of a map node; `null` reads as absent.
    pub fn field(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key).filter(|n| !n.is_null())
    }

    /// Builder helper: sets `key` (dropping it when `value` is `None`).
    pub fn with(mut self, key: &str, value: impl Into<Option<Node>>) -> Self {
        if let Node::Map(m) = &mut self {
            match value.into() {
                Some(v) => {
                    m.insert(key.to_owned(), v);
                }
                None => {
                    m.remove(key);
                }
            }
        }
        self
    }

    /// Converts Automerge's hydrated value.
    pub fn from_hydrated(value: hydrate::Value) -> Self {
        match value {
            hydrate::Value::Scalar(s) => Self::from_scalar(s),
            hydrate::Value::Text(t) => Node::Text(String::from(&t)),
            hydrate::Value::Map(m) => {
                Node::Map(m.iter().map(|(k, v)| (k.clone(), Self::from_hydrated(v.value.clone()))).collect())
            }
            hydrate::Value::List(l) => Node::List(l.iter().map(|v| Self::from_hydrated(v.value.clone())).collect()),
        }
    }

    fn from_scalar(s: ScalarValue) -> Self {
        match s {
            ScalarValue::Null => Node::Null,
            ScalarValue::Boolean(b) => Node::Bool(b),
            ScalarValue::Int(i) => Node::Int(i),
            ScalarValue::Uint(u) => match i64::try_from(u) {
                Ok(i) => Node::Int(i),
                Err(_) => Node::Other(ScalarValue::Uint(u)),
            },
            ScalarValue::F64(f) => Node::F64(f),
            ScalarValue::Str(s) => Node::Str(s.to_string()),
            other => Node::Other(other),
        }
    }

    /// Writes this node at `prop` of the map `obj` (replacing what was there).
    pub fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId, prop: &str) -> Result<(), automerge::AutomergeError> {
        match self {
            Node::Null => tx.put(obj, prop, ScalarValue::Null),
            Node::Bool(b) => tx.put(obj, prop, *b),
            Node::Int(i) => tx.put(obj, prop, *i),
            Node::F64(f) => tx.put(obj, prop, *f),
            Node::Str(s) => tx.put(obj, prop, s.as_str()),
            Node::Other(s) => tx.put(obj, prop, s.clone()),
            Node::Text(s) => {
                let text = tx.put_object(obj, prop, ObjType::Text)?;
                tx.splice_text(&text, 0, 0, s)
            }
            Node::Map(m) => {
                let child = tx.put_object(obj, prop, ObjType::Map)?;
                for (k, v) in m {
                    v.write(tx, &child, k)?;
                }
                Ok(())
            }
            Node::List(items) => {
                let list = tx.put_object(obj, prop, ObjType::List)?;
                for (i, item) in items.iter().enumerate() {
                    item.insert(tx, &list, i)?;
                }
                Ok(())
            }
        }
    }

    fn insert<T: Transactable>(&self, tx: &mut T, list: &ObjId, index: usize) -> Result<(), automerge::AutomergeError> {
        let child = match self {
            Node::Null => return tx.insert(list, index, ScalarValue::Null),
            Node::Bool(b) => return tx.insert(list, index, *b),
            Node::Int(i) => return tx.insert(list, index, *i),
            Node::F64(f) => return tx.insert(list, index, *f),
            Node::Str(s) => return tx.insert(list, index, s.as_str()),
            Node::Other(s) => return tx.insert(list, index, s.clone()),
            Node::Text(s) => {
                let text = tx.insert_object(list, index, ObjType::Text)?;
                return tx.splice_text(&text, 0, 0, s);
            }
            Node::Map(_) => tx.insert_object(list, index, ObjType::Map)?,
            Node::List(_) => tx.insert_object(list, index, ObjType::List)?,
        };
        match self {
            Node::Map(m) => {
                for (k, v) in m {
                    v.write(tx, &child, k)?;
                }
            }
            Node::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    item.insert(tx, &child, i)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl From<&str> for Node {
    fn from(s: &str) -> Self {
        Node::Str(s.to_owned())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Self {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Self {
        Node::Bool(b)
    }
}

impl From<i64> for Node {
    fn from(i: i64) -> Self {
        Node::Int(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_scalar_strings_are_equal() {
        assert_eq!(Node::Text("abc".into()), Node::Str("abc".into()));
        assert_ne!(Node::Text("abc".into()), Node::Str("abd".into()));
    }

    #[test]
    fn whole_floats_read_as_integers() {
        assert_eq!(Node::F64(45.0).as_i64(), Some(45));
        assert_eq!(Node::F64(45.5).as_i64(), None);
        assert_eq!(Node::F64(f64::NAN).as_i64(), None);
    }

    #[test]
    fn null_fields_read_as_absent() {
        let n = Node::map().with("a", Node::Null).with("b", Node::from(true));
        assert!(n.field("a").is_none());
        assert_eq!(n.field("b"), Some(&Node::Bool(true)));
    }
}
