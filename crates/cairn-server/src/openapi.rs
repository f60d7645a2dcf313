//! The OpenAPI 3.0 document of the service, served at `/ogc/api`.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ogc::{DEFAULT_LIMIT, MAX_LIMIT, OPENAPI, base_url};

fn problem() -> Value {
    json!({"description": "A problem (RFC 9457) naming the bad parameter", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn json_ok(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

/// The document, with the server's own address.
pub fn document(base: &str) -> Value {
    let p = |name: &str, desc: &str, schema: Value, required: bool| json!({"name": name, "in": "query", "required": required, "description": desc, "schema": schema, "style": "form", "explode": false});
    let collection_id = json!({"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string", "enum": ["hazardous-areas"]}});
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Cairn",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Hazard records for humanitarian mine action: OGC API – Features, place and route checks, vector tiles. Without a token a client sees what the public may see.",
            "license": {"name": "AGPL-3.0-or-later"}
        },
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["title", "status"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "LineString": {"type": "object", "required": ["type", "coordinates"], "properties": {
                    "type": {"type": "string", "enum": ["LineString"]},
                    "coordinates": {"type": "array", "minItems": 2, "maxItems": 10000, "items": {
                        "type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}}}},
                "Parcel": {"type": "object", "required": ["type"], "properties": {
                    "type": {"type": "string", "enum": ["Polygon", "MultiPolygon", "Feature", "FeatureCollection"]}}},
                "Link": {"type": "object", "required": ["href"], "properties": {
                    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
                "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    "geometry": {"type": "object", "nullable": true},
                    "properties": {"type": "object", "nullable": true},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0},
                    "timeStamp": {"type": "string", "format": "date-time"},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "PointCheck": {"type": "object", "required": ["point", "accuracy_m", "inside", "within_accuracy", "nearest", "advice"], "properties": {
                    "point": {"type": "array", "items": {"type": "number"}},
                    "accuracy_m": {"type": "number"},
                    "at": {"type": "string"},
                    "data_date": {"type": "string", "nullable": true},
                    "inside": {"type": "array", "items": {"type": "object"}},
                    "within_accuracy": {"type": "array", "items": {"type": "object"}},
                    "nearest": {"type": "object", "nullable": true},
                    "advice": {"type": "object"}}},
                "RouteCheck": {"type": "object", "required": ["length_m", "width_m", "at_risk_m", "hazards", "advice"], "properties": {
                    "length_m": {"type": "number"}, "width_m": {"type": "number"}, "at_risk_m": {"type": "number"},
                    "data_date": {"type": "string", "nullable": true},
                    "hazards": {"type": "array", "items": {"type": "object"}}, "advice": {"type": "object"}}}
            }
        },
        "paths": {
            "/ogc": {"get": {"summary": "Landing page", "operationId": "landing", "responses": {"200": json_ok("Links to the API", json!({"type": "object", "required": ["links"]}))}}},
            "/ogc/conformance": {"get": {"summary": "Conformance classes", "operationId": "conformance", "responses": {"200": json_ok("Conformance", json!({"type": "object", "required": ["conformsTo"]}))}}},
            "/ogc/api": {"get": {"summary": "This document", "operationId": "api", "responses": {"200": {"description": "OpenAPI 3.0", "content": {OPENAPI: {"schema": {"type": "object"}}}}}}},
            "/ogc/collections": {"get": {"summary": "Collections", "operationId": "collections", "responses": {"200": json_ok("Collections", json!({"type": "object", "required": ["collections", "links"]}))}}},
            "/ogc/collections/{collectionId}": {"get": {"summary": "One collection", "operationId": "collection", "parameters": [collection_id], "responses": {"200": json_ok("Collection", json!({"type": "object", "required": ["id", "links"]})), "404": problem()}}},
            "/ogc/collections/{collectionId}/queryables": {"get": {"summary": "Queryables", "operationId": "queryables", "parameters": [collection_id], "responses": {"200": {"description": "JSON Schema of the queryables", "content": {"application/schema+json": {"schema": {"type": "object"}}}}, "404": problem()}}},
            "/ogc/collections/{collectionId}/sortables": {"get": {"summary": "Sortables: the properties sortby may name, as the caller sees them", "operationId": "sortables", "parameters": [collection_id], "responses": {"200": {"description": "JSON Schema of the sortables", "content": {"application/schema+json": {"schema": {"type": "object"}}}}, "404": problem()}}},
            "/ogc/collections/{collectionId}/schema": {"get": {"summary": "The features' schema: a MultiPolygon (each hazard's footprint) and every property a feature may carry, as the caller sees them", "operationId": "schema", "parameters": [collection_id], "responses": {"200": {"description": "JSON Schema of a feature", "content": {"application/schema+json": {"schema": {"type": "object"}}}}, "404": problem()}}},
            "/ogc/collections/{collectionId}/items": {"get": {
                "summary": "Features", "operationId": "items",
                "parameters": [
                    collection_id,
                    p("limit", &format!("Features per page; a larger limit than {MAX_LIMIT} is served as {MAX_LIMIT} (the next links go on)"), json!({"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT}), false),
                    p("offset", "Features to skip", json!({"type": "integer", "minimum": 0, "default": 0}), false),
                    p("bbox", "minLon,minLat,maxLon,maxLat (CRS84)", json!({"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}}), false),
                    p("datetime", "An RFC 3339 instant or interval (a/b, ../b, a/..) on each record's reported_at (when it was reported); a feature without one, such as a danger zone, is not selected", json!({"type": "string", "minLength": 1}), false),
                    p("filter", "A CQL2 filter over the queryables, in the language of filter-lang: Basic CQL2, LIKE, BETWEEN, IN, and the spatial functions S_INTERSECTS, S_EQUALS, S_DISJOINT, S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS on the geometry (each hazard's footprint) with WKT or BBOX literals in CRS84, e.g. S_INTERSECTS(geometry, POLYGON((36.1 49.9, 36.2 49.9, 36.2 50, 36.1 49.9)))", json!({"type": "string"}), false),
                    p("filter-lang", "The language of filter: cql2-text (the default) or cql2-json", json!({"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}), false),
                    p("filter-crs", "The CRS of the filter's geometry literals: CRS84 only", json!({"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]}), false),
                    {"name": "sortby", "in": "query", "required": false, "style": "form", "explode": false,
                     "description": "Sort the matching features before paging (OGC API – Features Part 8): sortables (see /sortables) separated by commas, each with + (ascending, the default) or - (descending) before it, e.g. name,-reported_at; ties keep id order, and features without a value come last in either direction",
                     "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[+ -]?[A-Za-z_].*$"}}},
                    p("status", "Queryable as a parameter: status equals this (ANDed with filter)", json!({"type": "string"}), false),
                    p("name", "Queryable as a parameter: name equals this", json!({"type": "string"}), false),
                    p("marking", "Queryable as a parameter: marking equals this", json!({"type": "string"}), false),
                    p("organisation", "Queryable as a parameter: organisation equals this", json!({"type": "string"}), false),
                    p("reported_at", "Queryable as a parameter: reported_at equals this RFC 3339 time or date", json!({"type": "string"}), false),
                    p("kind", "Queryable as a parameter, without a token: hazardous-area or danger-zone", json!({"type": "string"}), false),
                    p("classification", "Queryable as a parameter, with a token: public or restricted", json!({"type": "string"}), false),
                ],
                "responses": {"200": {"description": "Features", "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}, "400": problem(), "404": problem(), "422": problem(), "429": problem(), "503": problem()}}},
            "/ogc/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "One feature", "operationId": "item",
                "parameters": [collection_id, {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Feature", "headers": {"ETag": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Feature"}}}}, "304": {"description": "Not modified"}, "404": problem(), "429": problem()}}},
            "/api/export": {"get": {
                "summary": "The hazardous areas as a file: everything for officers, auditors and admins (a GeoPackage with a layer per kind of record), the public view for everyone else",
                "operationId": "export",
                "parameters": [
                    p("format", "gpkg (the default), geojson (each hazard as its footprint) or csv", json!({"type": "string", "enum": ["gpkg", "geojson", "csv"]}), false),
                    p("view", "public for the public view; full (the default for officers, auditors and admins) for everything", json!({"type": "string", "enum": ["full", "public"]}), false),
                    p("as_of", "A past state: an RFC 3339 time or a date (its first moment); for officers, auditors and admins only", json!({"type": "string", "minLength": 1}), false),
                ],
                "responses": {
                    "200": {"description": "The export, as an attachment", "content": {
                        "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                        "application/geo+json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}}}},
                    "400": problem(), "401": problem(), "403": problem(), "429": problem(), "503": problem()}}},
            "/api/check/point": {"get": {
                "summary": "Is this place dangerous, and how far is the nearest danger?", "operationId": "checkPoint",
                "parameters": [
                    p("lon", "Longitude, WGS 84", json!({"type": "number", "minimum": -180, "maximum": 180}), true),
                    p("lat", "Latitude, WGS 84", json!({"type": "number", "minimum": -90, "maximum": 90}), true),
                    p("accuracy", "GPS accuracy in metres", json!({"type": "number", "minimum": 0, "maximum": 10000}), false),
                    p("at", "Time of the check (RFC 3339); the service answers for its current data", json!({"type": "string", "format": "date-time"}), false),
                ],
                "responses": {"200": json_ok("The answer", json!({"$ref": "#/components/schemas/PointCheck"})), "400": problem(), "429": problem()}}},
            "/api/check/route": {"post": {
                "summary": "Which hazards does a route's corridor cross, and where?", "operationId": "checkRoute",
                "parameters": [p("width", "Corridor width in metres", json!({"type": "number", "minimum": 0.1, "maximum": 20000}), false)],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/LineString"},
                    {"type": "object", "required": ["type", "geometry"], "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "geometry": {"$ref": "#/components/schemas/LineString"},
                        "properties": {"type": "object", "nullable": true, "properties": {"width": {"type": "number", "nullable": true, "minimum": 0.1, "maximum": 20000}}}}}]}}}},
                "responses": {"200": json_ok("The answer", json!({"$ref": "#/components/schemas/RouteCheck"})), "400": problem(), "413": problem(), "415": problem(), "422": problem(), "429": problem(), "503": problem()}}},
            "/api/parcel/extract": {"post": {
                "summary": "Is my land affected? The hazards and released land touching a parcel, with the land each shares with it",
                "description": "The body is the parcel: GeoJSON (a Polygon or MultiPolygon, a Feature of one, or a FeatureCollection of such features) or KML (every Polygon of the document), at most 1 MiB, 20,000 vertices and 100 km². Without a token, a restricted hazard appears only as its generalised danger zone.",
                "operationId": "parcelExtract",
                "parameters": [
                    p("lang", "uk or en; without it the Accept-Language header, else English", json!({"type": "string", "enum": ["uk", "en"]}), false),
                    p("format", "json (the default), html (a printable page) or pdf", json!({"type": "string", "enum": ["json", "html", "pdf"]}), false),
                ],
                "requestBody": {"required": true, "content": {
                    "application/geo+json": {"schema": {"$ref": "#/components/schemas/Parcel"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/Parcel"}},
                    "application/vnd.google-earth.kml+xml": {"schema": {"type": "string", "minLength": 1}}}},
                "responses": {
                    "200": {"description": "The extract", "content": {
                        "application/json": {"schema": {"type": "object", "required": ["parcel_m2", "hazards", "released", "danger", "caveat"]}},
                        "text/html": {"schema": {"type": "string"}},
                        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                    "400": problem(), "413": problem(), "422": problem(), "429": problem(), "503": problem()}}},
            "/tiles.json": {"get": {"summary": "TileJSON 3.0 of the hazard tiles", "operationId": "tilejson", "responses": {"200": json_ok("TileJSON", json!({"type": "object"}))}}},
            "/tiles/{z}/{x}/{y}.mvt": {"get": {
                "summary": "A vector tile of hazards", "operationId": "tile",
                "parameters": [
                    {"name": "z", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 22}},
                    {"name": "x", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "y", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": {"description": "Mapbox Vector Tile", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}}, "400": problem(), "404": problem(), "429": problem(), "503": problem()}}},
            "/health": {"get": {"summary": "Health", "operationId": "health", "responses": {"200": json_ok("Healthy", json!({"type": "object", "required": ["status"]}))}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "responses": {"200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
        }
    });
    add_writes(&mut doc);
    doc
}

/// `GET /ogc/api`.
pub async fn api(headers: HeaderMap) -> Response {
    let doc = document(&base_url(&headers));
    (
        [(axum::http::header::CONTENT_TYPE, OPENAPI)],
        doc.to_string(),
    )
        .into_response()
}

/// `GET /ogc/api.html`: a plain page pointing to the document.
pub async fn api_html(headers: HeaderMap) -> Response {
    let b = base_url(&headers);
    axum::response::Html(format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Cairn API</title><h1>Cairn API</h1>\
         <p>The OpenAPI 3.0 definition is at <a href=\"{b}/ogc/api\">{b}/ogc/api</a>. Collections: <a href=\"{b}/ogc/collections\">{b}/ogc/collections</a>.</p></html>"
    ))
    .into_response()
}

/// Adds OGC API – Features Part 4 to the document: `POST` on the items, `PUT`, `PATCH` and
/// `DELETE` on one item (see `edit.rs`), each for bearer tokens only.
fn add_writes(doc: &mut Value) {
    let statuses: Vec<&str> = <cairn_core::Status as cairn_core::WireEnum>::ALL
        .iter()
        .map(|(_, n)| *n)
        .collect();
    doc["components"]["schemas"]["FeatureInput"] = json!({
        "type": "object", "required": ["type", "geometry", "properties"],
        "description": "A hazardous area as GeoJSON (see interfaces.md): Polygon or MultiPolygon, a Point with properties.radius_m, or a LineString with properties.width_m; or, as the service publishes a spot or corridor, its outline (MultiPolygon) with properties.centre_wkt and radius_m or width_m, the outline then being the one drawn from them; WGS 84.",
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "integer"}], "nullable": true, "description": "Left out or null: assigned by the server (POST) or taken from the path (PUT)"},
            "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"type": "string", "enum": ["Polygon", "MultiPolygon", "Point", "LineString"]},
                "coordinates": {"type": "array"}}},
            "properties": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": statuses},
                "classification": {"type": "string", "enum": ["public", "restricted", null], "nullable": true, "description": "Left out or null: restricted"},
                "name": {"type": "string", "nullable": true},
                "organisation": {"type": "string", "nullable": true}}}}
    });
    doc["components"]["schemas"]["FeaturePatch"] = json!({
        "type": "object",
        "description": "A JSON merge patch (RFC 7396) of the feature: properties to change (null removes one) and, optionally, a new geometry (replaced whole).",
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"type": "string", "enum": ["Polygon", "MultiPolygon", "Point", "LineString"]},
                "coordinates": {"type": "array"}}},
            "properties": {"type": "object"}},
        "additionalProperties": false
    });
    let collection_id = json!({"name": "collectionId", "in": "path", "required": true, "schema": {"type": "string", "enum": ["hazardous-areas"]}});
    let feature_id =
        json!({"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}});
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "description": "The ETag of the feature as last read; 428 without it, 412 when the feature has changed since.", "schema": {"type": "string", "minLength": 1}});
    let reason = json!({"name": "Cairn-Reason", "in": "header", "required": false, "description": "Why the change is made; recorded in the feature's history.", "schema": {"type": "string", "maxLength": 1000}});
    let security = json!([{"bearer": []}]);
    let etag = json!({"ETag": {"schema": {"type": "string"}}});
    let feature_ok = |desc: &str| json!({"description": desc, "headers": etag, "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Feature"}}}});
    let body = |media: &[&str], schema: &str| {
        let mut content = serde_json::Map::new();
        for m in media {
            content.insert(
                (*m).into(),
                json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}}),
            );
        }
        json!({"required": true, "content": content})
    };
    let refusals = |codes: &[&str]| {
        let mut m = serde_json::Map::new();
        for c in codes {
            m.insert((*c).into(), problem());
        }
        m
    };
    let mut post_responses = refusals(&["400", "401", "403", "404", "409", "413", "415", "422"]);
    post_responses.insert("201".into(), json!({"description": "Created", "headers": {"Location": {"schema": {"type": "string"}}, "ETag": {"schema": {"type": "string"}}}, "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Feature"}}}}));
    let mut put_responses = refusals(&[
        "400", "401", "403", "404", "412", "413", "415", "422", "428",
    ]);
    put_responses.insert("200".into(), feature_ok("The feature as stored"));
    let mut patch_responses = put_responses.clone();
    patch_responses.insert(
        "200".into(),
        feature_ok("The feature as stored after the patch"),
    );
    let mut delete_responses = refusals(&["400", "401", "403", "404", "409", "412", "428"]);
    delete_responses.insert("204".into(), json!({"description": "Never answered: an area is closed only by land release (POST /api/releases); DELETE is answered 409 with rule release-by-activity", "headers": etag}));
    let items = &mut doc["paths"]["/ogc/collections/{collectionId}/items"];
    items["post"] = json!({
        "summary": "Create a hazardous area (OGC API – Features Part 4)", "operationId": "createItem",
        "security": security, "parameters": [collection_id, reason],
        "requestBody": body(&["application/geo+json", "application/json"], "FeatureInput"),
        "responses": post_responses});
    let item = &mut doc["paths"]["/ogc/collections/{collectionId}/items/{featureId}"];
    item["put"] = json!({
        "summary": "Replace a hazardous area", "operationId": "replaceItem",
        "security": security, "parameters": [collection_id, feature_id, if_match, reason],
        "requestBody": body(&["application/geo+json", "application/json"], "FeatureInput"),
        "responses": put_responses});
    item["patch"] = json!({
        "summary": "Update a hazardous area with a JSON merge patch", "operationId": "updateItem",
        "security": security, "parameters": [collection_id, feature_id, if_match, reason],
        "requestBody": body(&["application/merge-patch+json", "application/json"], "FeaturePatch"),
        "responses": patch_responses});
    item["delete"] = json!({
        "summary": "Refused with 409 (rule release-by-activity): an area closes only by land release on an activity's evidence", "operationId": "deleteItem",
        "security": security, "parameters": [collection_id, feature_id, if_match, reason],
        "responses": delete_responses});
}
