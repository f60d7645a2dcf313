//! Documents people hold, as PDF made by Cairn itself (no browser, no external program): the
//! handover certificate, the transparency report and the parcel extract, in Ukrainian and
//! English. The words and figures come from `cairn-core`, which also renders the HTML pages, so a
//! PDF and its page say the same.

pub mod certificate;
pub mod extract;
pub mod pdf;
pub mod transparency;
