//! Build script of cairn-server: makes sure MapLibre GL JS (pinned in web/package-lock.json) is
//! installed in web/node_modules, and copies its browser files into OUT_DIR without their
//! source-map comments, so that `src/web.rs` can embed them and `cairn` serves the public map
//! with no internet at all.
//!
//! A fresh clone builds with `cargo build` alone on a machine with node, npm and access to the
//! npm registry: when web/node_modules holds no MapLibre, or another version than the lock file
//! names, this runs `npm ci --no-audit --no-fund` in web/. Builds in several target directories
//! at once take turns through an advisory lock on web/package-lock.json.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of the MapLibre package that the map page loads, as (name in dist/, name in OUT_DIR).
const VENDOR: &[(&str, &str)] = &[
    ("maplibre-gl.mjs", "maplibre-gl.js"),
    ("maplibre-gl-worker.mjs", "maplibre-gl-worker.js"),
    ("maplibre-gl.css", "maplibre-gl.css"),
];

/// The base-map style of the npm package @protomaps/basemaps (pinned in web/package-lock.json),
/// as (path under web/node_modules, name in OUT_DIR): an ES module with no imports.
const PROTOMAPS: (&str, &str) = (
    "@protomaps/basemaps/dist/esm/index.js",
    "protomaps-basemaps.js",
);

/// The page's own files, embedded by src/web.rs; listed so that a change rebuilds.
const WEB_FILES: &[&str] = &[
    "index.html",
    "sw.js",
    "offline.js",
    "manifest.webmanifest",
    "icon-maskable.svg",
    "app.js",
    "officer.html",
    "officer.js",
    "audit.html",
    "audit.js",
    "parcel.html",
    "parcel.js",
    "parcel-i18n.js",
    "parcel.css",
    "i18n.js",
    "style.css",
    "data/settlements.geojson",
    "data/context.geojson",
    "basemap.js",
    "package.json",
    "package-lock.json",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let web = web.canonicalize().unwrap_or(web);
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    println!("cargo:rerun-if-changed=build.rs");
    for f in WEB_FILES {
        println!("cargo:rerun-if-changed={}", web.join(f).display());
    }
    let dist = web.join("node_modules/maplibre-gl/dist");
    println!(
        "cargo:rerun-if-changed={}",
        web.join("node_modules/maplibre-gl/package.json").display()
    );
    for (name, _) in VENDOR {
        println!("cargo:rerun-if-changed={}", dist.join(name).display());
    }

    ensure_installed(&web);

    for (from, to) in VENDOR {
        let src = dist.join(from);
        let text = fs::read_to_string(&src).unwrap_or_else(|e| {
            fail(&format!(
                "{}: cannot read ({e}); run `npm ci` in web/",
                src.display()
            ))
        });
        let dst = out.join(to);
        fs::write(&dst, strip_source_map(&text))
            .unwrap_or_else(|e| fail(&format!("{}: cannot write ({e})", dst.display())));
    }
    let (from, to) = PROTOMAPS;
    let src = web.join("node_modules").join(from);
    println!("cargo:rerun-if-changed={}", src.display());
    let text = fs::read_to_string(&src).unwrap_or_else(|e| {
        fail(&format!(
            "{}: cannot read ({e}); run `npm ci` in web/",
            src.display()
        ))
    });
    let dst = out.join(to);
    fs::write(&dst, strip_source_map(&text))
        .unwrap_or_else(|e| fail(&format!("{}: cannot write ({e})", dst.display())));
    for f in glyph_files(&web.join("glyphs")) {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let version = installed_version(&web).unwrap_or_default();
    println!("cargo:rustc-env=CAIRN_MAPLIBRE_VERSION={version}");
}

/// Stops the build with a message that says what to do.
fn fail(msg: &str) -> ! {
    panic!("\n\ncairn-server build: {msg}\n\n")
}

/// The glyph ranges of web/glyphs/ (embedded by src/basemap.rs), so that a new range rebuilds.
fn glyph_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for stack in fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in fs::read_dir(stack.path()).into_iter().flatten().flatten() {
            out.push(f.path());
        }
    }
    out
}

/// The MapLibre version that web/package-lock.json pins.
fn locked_version(web: &Path) -> Option<String> {
    locked_version_of(web, "maplibre-gl")
}

/// The version of an npm package that web/package-lock.json pins.
fn locked_version_of(web: &Path, package: &str) -> Option<String> {
    let lock = fs::read_to_string(web.join("package-lock.json")).ok()?;
    let at = lock.find(&format!("\"node_modules/{package}\""))?;
    version_after(&lock[at..])
}

/// The MapLibre version installed in web/node_modules, if any.
fn installed_version(web: &Path) -> Option<String> {
    installed_version_of(web, "maplibre-gl")
}

/// The version of an npm package installed in web/node_modules, if any.
fn installed_version_of(web: &Path, package: &str) -> Option<String> {
    let p = fs::read_to_string(web.join("node_modules").join(package).join("package.json")).ok()?;
    version_after(&p)
}

/// The value of the first `"version": "..."` in `text`.
fn version_after(text: &str) -> Option<String> {
    let at = text.find("\"version\"")?;
    let rest = &text[at + "\"version\"".len()..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_string())
}

/// True when web/node_modules already holds the locked MapLibre with all the files we embed.
fn up_to_date(web: &Path) -> bool {
    let dist = web.join("node_modules/maplibre-gl/dist");
    VENDOR.iter().all(|(name, _)| dist.join(name).is_file())
        && installed_version(web).is_some()
        && installed_version(web) == locked_version(web)
        && web.join("node_modules").join(PROTOMAPS.0).is_file()
        && installed_version_of(web, "@protomaps/basemaps")
            == locked_version_of(web, "@protomaps/basemaps")
}

/// Runs `npm ci` in web/ when MapLibre is missing or not the locked version.
fn ensure_installed(web: &Path) {
    if up_to_date(web) {
        return;
    }
    let lock_path = web.join("package-lock.json");
    let lock = fs::File::open(&lock_path).unwrap_or_else(|e| {
        fail(&format!(
            "{}: cannot open ({e}); the map's npm lock file is part of the repository",
            lock_path.display()
        ))
    });
    // Another build (another target directory) may be installing right now: wait for it, then
    // look again before installing ourselves.
    lock.lock()
        .unwrap_or_else(|e| fail(&format!("{}: cannot lock ({e})", lock_path.display())));
    if !up_to_date(web) {
        println!("cargo:warning=installing MapLibre GL JS with `npm ci` in web/");
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let result = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(web)
            .status();
        match result {
            Ok(s) if s.success() => {}
            Ok(s) => fail(&format!(
                "`npm ci --no-audit --no-fund` in {} failed ({s}); the public map embeds MapLibre GL JS from web/node_modules, so fix npm's error above (registry access, node version) and build again",
                web.display()
            )),
            Err(e) => fail(&format!(
                "cannot run npm ({e}); building cairn-server needs node and npm once, to install MapLibre GL JS into web/node_modules from web/package-lock.json"
            )),
        }
        if !up_to_date(web) {
            fail(&format!(
                "`npm ci` in {} finished but web/node_modules/maplibre-gl still lacks the locked version's files",
                web.display()
            ));
        }
    }
    drop(lock);
}

/// Drops `//# sourceMappingURL=...` lines, so browsers do not ask for maps that Cairn does not
/// serve.
fn strip_source_map(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("//# sourceMappingURL=") || t.starts_with("/*# sourceMappingURL=") {
            continue;
        }
        out.push_str(line);
    }
    out
}
