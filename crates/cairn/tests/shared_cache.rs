//! A shared cache in front of Cairn never gives one audience another's answer: nginx (Debian's
//! `nginx-light`, installed by scripts/test) as a caching reverse proxy with its default cache key
//! (the URL alone, as most shared caches have), honouring `Cache-Control` and `Vary` as it does.
//! An officer's tile of a restricted area, fetched first, must never be served to the public
//! from the cache; the public's tile, fetched first and cached, must never be served to the
//! officer. The cache is shown to be working (a public tile fetched twice is a cache HIT), so
//! that the test cannot pass by the proxy caching nothing.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{Server, cairn_ok as ok, header, request_bytes};
use serde_json::json;

const NGINX: &str = "/usr/sbin/nginx";

fn square(lon: f64, lat: f64, d: f64) -> serde_json::Value {
    json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]})
}

/// The tile at zoom `z` holding a point.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

/// nginx caching everything it may in front of `upstream`, on a free port; killed on drop.
struct Proxy {
    child: Child,
    addr: String,
}

impl Proxy {
    fn start(dir: &Path, upstream: &str) -> Proxy {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: scripts/test installs nginx-light (Debian); run the tests through it"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "user root;\nworker_processes 1;\ndaemon off;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/client;\n  proxy_temp_path {d}/proxy;\n\
                   fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
                   proxy_cache_path {d}/cache keys_zone=cairn:1m;\n\
                   server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://{upstream};\n\
                       proxy_cache cairn;\n      add_header X-Cache-Status $upstream_cache_status always;\n    }}\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let child = Command::new(NGINX)
            .args(["-c", &conf.to_string_lossy(), "-p", &d.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let addr = format!("127.0.0.1:{port}");
        let t = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "nginx did not listen on {addr}: {}",
                std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proxy { child, addr }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_caching_proxy_never_gives_one_audience_the_others_tile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let records = dir.path().join("records.geojson");
    let feature = |id: &str, lon: f64, class: &str, name: &str| {
        json!({"type": "Feature", "id": id, "geometry": square(lon, 49.9, 0.01),
            "properties": {"status": "confirmed", "classification": class, "name": name,
                "organisation": "Operator A",
                "evidence": {"kind": "direct", "description": "as recorded"},
                "devices": [{"type": "ap-mine-persistent", "quantity": 10}]}})
    };
    std::fs::write(
        &records,
        json!({"type": "FeatureCollection", "features": [
            feature("HA-000001", 36.0, "public", "Open field"),
            feature("HA-SECRET", 36.5, "restricted", "Restricted position")]})
        .to_string(),
    )
    .unwrap();
    ok(&db, &["init"]);
    ok(
        &db,
        &[
            "import",
            &records.to_string_lossy(),
            "--reason",
            "migration",
        ],
    );
    ok(&db, &["user", "add", "Olena", "--role", "officer"]);
    let token = ok(&db, &["token", "create", "--user", "Olena"])
        .trim()
        .to_string();
    let server = Server::start(&db, None);
    let cache_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&cache_dir).unwrap();
    let proxy = Proxy::start(&cache_dir, &server.addr);
    let auth = format!("Bearer {token}");
    let get = |addr: &str, path: &str, officer: bool| {
        let headers: Vec<(&str, &str)> = if officer {
            vec![("Authorization", auth.as_str())]
        } else {
            vec![]
        };
        let (status, head, body) = request_bytes(addr, "GET", path, &headers, b"");
        assert_eq!(status, 200, "GET {path} through {addr}: {head}");
        (head, body)
    };
    let contains = |b: &[u8], s: &str| b.windows(s.len()).any(|w| w == s.as_bytes());

    // The restricted area's tile: the officer first, then the public, through the cache.
    let (x, y) = tile_of(36.505, 49.905, 14);
    let secret_tile = format!("/tiles/14/{x}/{y}.mvt");
    let (_, direct_public) = get(&server.addr, &secret_tile, false);
    let (_, direct_officer) = get(&server.addr, &secret_tile, true);
    assert!(
        contains(&direct_officer, "HA-SECRET"),
        "the officer's tile shows the record"
    );
    assert!(
        !contains(&direct_public, "HA-SECRET"),
        "the public's tile shows a zone only"
    );
    let (_, via_officer) = get(&proxy.addr, &secret_tile, true);
    assert!(contains(&via_officer, "HA-SECRET"));
    for round in 0..3 {
        let (head, via_public) = get(&proxy.addr, &secret_tile, false);
        assert!(
            !contains(&via_public, "HA-SECRET") && !contains(&via_public, "Restricted position"),
            "round {round}: the cache gave the public the officer's tile ({head})"
        );
        assert_eq!(
            via_public, direct_public,
            "round {round}: the public gets the public's tile"
        );
    }
    // The public first this time (the open area's tile): cached, and still never the officer's
    // answer for the public nor the public's for the officer.
    let (x, y) = tile_of(36.005, 49.905, 14);
    let open_tile = format!("/tiles/14/{x}/{y}.mvt");
    let (first, _) = get(&proxy.addr, &open_tile, false);
    let (again, _) = get(&proxy.addr, &open_tile, false);
    assert_eq!(
        header(&again, "x-cache-status").as_deref(),
        Some("HIT"),
        "the proxy caches the public's tile (first: {first}; again: {again})"
    );
    let (head, via_officer) = get(&proxy.addr, &secret_tile, true);
    assert!(
        contains(&via_officer, "HA-SECRET"),
        "the officer is never given the public's cached tile ({head})"
    );
    assert_ne!(
        header(&head, "x-cache-status").as_deref(),
        Some("HIT"),
        "an officer's answer is not served from the shared cache: {head}"
    );
    let (head, _) = get(&proxy.addr, &secret_tile, true);
    assert_ne!(
        header(&head, "x-cache-status").as_deref(),
        Some("HIT"),
        "{head}"
    );
}
