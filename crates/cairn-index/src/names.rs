//! Hazard ids held densely by slot, short ones inline, so that naming the hazards a query hit
//! costs one read each rather than a read of the slot and another of the id's own allocation.

use std::collections::HashMap;

/// Ids up to this many bytes are held inline.
const INLINE: usize = 23;

/// The id of every slot.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Per slot: the length in byte 0 (255 when held in `long`), then the bytes.
    short: Vec<[u8; INLINE + 1]>,
    long: HashMap<u32, Box<str>>,
}

impl Names {
    /// Room for `n` more slots' names.
    pub fn reserve(&mut self, n: usize) {
        self.short.reserve(n);
    }

    /// Names a slot.
    pub fn set(&mut self, slot: u32, id: &str) {
        let i = slot as usize;
        if self.short.len() <= i {
            self.short.resize(i + 1, [0; INLINE + 1]);
        }
        let mut e = [0u8; INLINE + 1];
        if id.len() <= INLINE {
            e[0] = id.len() as u8;
            e[1..=id.len()].copy_from_slice(id.as_bytes());
            self.long.remove(&slot);
        } else {
            e[0] = u8::MAX;
            self.long.insert(slot, id.into());
        }
        self.short[i] = e;
    }

    /// Forgets a slot's id.
    pub fn clear(&mut self, slot: u32) {
        if let Some(e) = self.short.get_mut(slot as usize) {
            *e = [0; INLINE + 1];
        }
        self.long.remove(&slot);
    }

    /// A slot's id ("" for an empty slot).
    pub fn get(&self, slot: u32) -> &str {
        let Some(e) = self.short.get(slot as usize) else {
            return "";
        };
        if e[0] == u8::MAX {
            return self.long.get(&slot).map_or("", |s| s);
        }
        // Only whole ids are stored, so the bytes are always UTF-8.
        std::str::from_utf8(&e[1..=usize::from(e[0])]).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_round_trip() {
        let mut n = Names::default();
        n.set(3, "HA-000123");
        let long = "a-very-long-identifier-from-an-import-Київ";
        n.set(1, long);
        n.set(0, "");
        assert_eq!(n.get(3), "HA-000123");
        assert_eq!(n.get(1), long);
        assert_eq!(n.get(0), "");
        assert_eq!(n.get(2), "");
        assert_eq!(n.get(99), "");
        n.set(1, "short");
        assert_eq!(n.get(1), "short");
        n.clear(3);
        assert_eq!(n.get(3), "");
        // Exactly at the inline limit, and one byte over.
        let at = "x".repeat(INLINE);
        let over = "y".repeat(INLINE + 1);
        n.set(5, &at);
        n.set(6, &over);
        assert_eq!((n.get(5), n.get(6)), (at.as_str(), over.as_str()));
    }
}
