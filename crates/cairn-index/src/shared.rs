//! A hazard's shape held once and shared: the index's entry, the public feature and the record
//! itself all point at the one copy of the coordinates instead of each holding its own (on
//! 1,000,000 areas of about 29 vertices each copy is about 0.6 GB).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use cairn_core::{HazardArea, Shape};

/// Anything that holds a shape: a shape alone, or a record with its shape inside.
pub trait HoldsShape: Send + Sync {
    /// The shape held.
    fn shape(&self) -> &Shape;
}

impl HoldsShape for Shape {
    fn shape(&self) -> &Shape {
        self
    }
}

impl HoldsShape for HazardArea {
    fn shape(&self) -> &Shape {
        &self.shape
    }
}

/// A shared, read-only reference to a shape wherever it is held; reads as a `&Shape`.
#[derive(Clone)]
pub struct ShapeRef(Arc<dyn HoldsShape>);

impl ShapeRef {
    /// A reference to the shape inside `owner`, keeping `owner` alive.
    pub fn new(owner: Arc<dyn HoldsShape>) -> ShapeRef {
        ShapeRef(owner)
    }

    /// True when both refer to the very same copy.
    pub fn same_copy(a: &ShapeRef, b: &ShapeRef) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&a.0), Arc::as_ptr(&b.0))
    }
}

impl Deref for ShapeRef {
    type Target = Shape;
    #[inline]
    fn deref(&self) -> &Shape {
        self.0.shape()
    }
}

impl AsRef<Shape> for ShapeRef {
    fn as_ref(&self) -> &Shape {
        self
    }
}

impl From<Shape> for ShapeRef {
    fn from(s: Shape) -> ShapeRef {
        ShapeRef(Arc::new(s))
    }
}

impl PartialEq for ShapeRef {
    /// Equal shapes, wherever held.
    fn eq(&self, other: &ShapeRef) -> bool {
        ShapeRef::same_copy(self, other) || **self == **other
    }
}

impl PartialEq<Shape> for ShapeRef {
    fn eq(&self, other: &Shape) -> bool {
        **self == *other
    }
}

impl fmt::Debug for ShapeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::Point;

    #[test]
    fn a_shared_shape_reads_as_its_owner_holds_it_and_compares_by_value() {
        let spot = Shape::Spot {
            at: Point::new(30.0, 50.0),
            radius_m: 25.0,
        };
        let a = ShapeRef::from(spot.clone());
        let b = a.clone();
        let c = ShapeRef::from(spot.clone());
        assert!(ShapeRef::same_copy(&a, &b));
        assert!(!ShapeRef::same_copy(&a, &c));
        assert_eq!(a, c);
        assert_eq!(*a, spot);
        let other = ShapeRef::from(Shape::Spot {
            at: Point::new(30.0, 50.0),
            radius_m: 26.0,
        });
        assert_ne!(a, other);
    }
}
