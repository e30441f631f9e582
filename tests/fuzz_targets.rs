//! The fuzz crate's targets cannot drift apart: every `[[bin]]` in `fuzz/Cargo.toml` has its file
//! (with a `fuzz_target!`), every file in `fuzz/fuzz_targets/` has its `[[bin]]`, and the table in
//! `fuzz/README.md` has exactly one row per target.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

const FUZZ_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz");

struct Bin {
    name: String,
    path: String,
}

/// The `[[bin]]` tables of the fuzz crate's manifest: their `name` and `path` lines.
fn bins(manifest: &str) -> Vec<Bin> {
    let mut bins = Vec::new();
    let mut current: Option<(Option<String>, Option<String>)> = None;
    let mut finish = |entry: Option<(Option<String>, Option<String>)>| {
        if let Some((name, path)) = entry {
            let name = name.expect("a [[bin]] without a name");
            let path = path.unwrap_or_else(|| panic!("[[bin]] {name} has no path"));
            bins.push(Bin { name, path });
        }
    };
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            finish(current.take());
            if line == "[[bin]]" {
                current = Some((None, None));
            }
        } else if let Some((name, path)) = current.as_mut() {
            let value = |key: &str| {
                let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                Some(rest.trim().trim_matches('"').to_string())
            };
            if let Some(v) = value("name") {
                *name = Some(v);
            } else if let Some(v) = value("path") {
                *path = Some(v);
            }
        }
    }
    finish(current);
    bins
}

/// The target names in the first column of the README's table (rows that start with a backquote).
fn readme_rows(readme: &str) -> Vec<String> {
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string())
        .collect()
}

#[test]
fn every_fuzz_target_has_its_file_bin_and_readme_row() {
    let dir = Path::new(FUZZ_DIR);
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let bins = bins(&manifest);
    assert!(!bins.is_empty(), "no [[bin]] found in fuzz/Cargo.toml");

    let mut names = BTreeSet::new();
    for bin in &bins {
        assert!(names.insert(bin.name.clone()), "[[bin]] {} twice", bin.name);
        let source = fs::read_to_string(dir.join(&bin.path))
            .unwrap_or_else(|e| panic!("[[bin]] {}: cannot read {} ({e})", bin.name, bin.path));
        assert!(
            source.contains("fuzz_target!"),
            "{} has no fuzz_target!",
            bin.path
        );
    }

    let paths: BTreeSet<&str> = bins.iter().map(|b| b.path.as_str()).collect();
    for entry in fs::read_dir(dir.join("fuzz_targets")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let relative = format!(
                "fuzz_targets/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            assert!(
                paths.contains(relative.as_str()),
                "{relative} has no [[bin]] in fuzz/Cargo.toml"
            );
        }
    }

    let readme = fs::read_to_string(dir.join("README.md")).unwrap();
    let rows = readme_rows(&readme);
    let row_set: BTreeSet<String> = rows.iter().cloned().collect();
    assert_eq!(
        rows.len(),
        row_set.len(),
        "a target has two rows in fuzz/README.md"
    );
    assert_eq!(
        row_set, names,
        "fuzz/README.md's table and the [[bin]] entries of fuzz/Cargo.toml differ"
    );
}

#[test]
fn the_manifest_reader_sees_names_and_paths() {
    let manifest = "[package]\nname = \"x\"\n\n[[bin]]\nname = \"a\"\npath = \"fuzz_targets/a.rs\"\ntest = false\n\n[profile.release]\ndebug = 1\n\n[[bin]]\npath = \"fuzz_targets/b.rs\"\nname = \"b\"\n";
    let bins = bins(manifest);
    let got: Vec<(&str, &str)> = bins
        .iter()
        .map(|b| (b.name.as_str(), b.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [("a", "fuzz_targets/a.rs"), ("b", "fuzz_targets/b.rs")]
    );
    assert_eq!(
        readme_rows("| target | x |\n|---|---|\n| `a`  | y |\n| `b` | z |\n"),
        ["a", "b"]
    );
}
