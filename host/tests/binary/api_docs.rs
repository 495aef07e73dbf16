//! docs/API.md is generated from the tool registry; this fails when the committed file drifts.
//! Regenerate: `cargo run -p ibkr-mcp -- docs > docs/API.md`.

#[test]
fn api_md_matches_the_registry() {
    let expected = ibkr_mcp::mcp::docs::render(&ibkr_mcp::mcp::tools::all());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md");
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if actual != expected {
        if std::env::var_os("UPDATE_API_MD").is_some() {
            std::fs::write(path, &expected).unwrap();
            return;
        }
        panic!(
            "docs/API.md is out of date with the tool registry; run \
             `cargo run -p ibkr-mcp -- docs > docs/API.md` (or UPDATE_API_MD=1 cargo test -p ibkr-mcp --test binary api_docs)"
        );
    }
}

#[test]
fn every_tool_is_documented_once() {
    let tools = ibkr_mcp::mcp::tools::all();
    let doc = ibkr_mcp::mcp::docs::render(&tools);
    for t in &tools {
        assert_eq!(
            doc.matches(&format!("### {}\n", t.tool.name)).count(),
            1,
            "{}",
            t.tool.name
        );
    }
}
