//! Cairn's domain core: hazardous areas, the device catalogue, validation, the residual-hazard
//! model and the public view. It does no I/O and cannot fail for outside reasons.

pub mod accident;
pub mod area;
pub mod catalogue;
pub mod certificate;
pub mod command;
pub mod diff;
pub mod footprint;
pub mod hilbert;
pub mod lang;
pub mod parcel;
pub mod public;
pub mod release;
pub mod report;
pub mod residual;
pub mod simple;
pub mod territory;
pub mod time;
pub mod transparency;
pub mod validate;
pub mod zone;

pub use area::{
    AreaProperties, Classification, DeviceGroup, Emplacement, EmplacingMethod, Evidence,
    EvidenceKind, HazardArea, HowKnown, Marking, Shape, Status, Timeline, Timestamp, TrackedArea,
    WireEnum,
};
pub use catalogue::{Catalogue, Category, DeviceType};
pub use validate::Problem;
