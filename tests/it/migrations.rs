//! The two migration folders hold the same versions: every schema change is written for
//! both backends, with the same number.

use std::collections::BTreeSet;
use std::path::Path;

fn versions(backend: &str) -> BTreeSet<u64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let (version, _) = name
                .split_once('_')
                .unwrap_or_else(|| panic!("{backend}/{name}: not VERSION_name.sql"));
            assert!(name.ends_with(".sql"), "{backend}/{name}: not a .sql file");
            version
                .parse()
                .unwrap_or_else(|_| panic!("{backend}/{name}: version is not a number"))
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_folders_hold_the_same_versions() {
    let sqlite = versions("sqlite");
    let postgres = versions("postgres");
    assert!(!sqlite.is_empty());
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in sqlite: {only_sqlite:?}; only in postgres: {only_postgres:?}"
    );
}
