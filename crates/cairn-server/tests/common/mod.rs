//! Helpers shared by the server's integration tests.

use cairn_core::Catalogue;
use cairn_server::AppState;
use serde_json::Value;

/// The model the service updated write by write holds what a model loaded afresh from the
/// store holds: the same records at the same revisions, the same public features with the same
/// shapes and properties (but the data date, which only a rebuild moves for untouched
/// features), indexes of the same size and the same covering cells for low-zoom tiles.
pub fn assert_model_is_current(state: &AppState) {
    // The covering cells and the public grid are built after the start, and take every write
    // made meanwhile: compare them once they are in.
    state.wait_until_complete();
    let fresh =
        state.with_store(|s| cairn_server::ReadModel::load(s, &Catalogue::builtin()).unwrap());
    let m = state.model();
    let revs = |m: &cairn_server::ReadModel| -> Vec<(String, i64)> {
        m.areas
            .iter()
            .map(|(k, v)| (k.to_string(), v.revision.rev))
            .collect()
    };
    assert_eq!(revs(&m), revs(&fresh));
    assert_eq!(
        m.public.keys().collect::<Vec<_>>(),
        fresh.public.keys().collect::<Vec<_>>()
    );
    for (k, f) in &fresh.public {
        let g = &m.public[k];
        assert_eq!(g.shape, f.shape, "{k}");
        let strip = |p: &serde_json::Map<String, Value>| {
            let mut p = p.clone();
            p.remove("data_date");
            p
        };
        assert_eq!(strip(&g.props()), strip(&f.props()), "{k}");
    }
    assert_eq!(m.index.len(), fresh.index.len());
    assert_eq!(m.public_index.len(), fresh.public_index.len());
    // The low zooms' covering cells, counted in and out write by write.
    assert_eq!(m.cells, fresh.cells, "covering cells");
    assert_eq!(m.public_cells, fresh.public_cells, "public covering cells");
    assert!(!fresh.cells.is_empty());
    assert_eq!(m.data_date, fresh.data_date);
}
