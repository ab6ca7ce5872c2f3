//! README's first command: `examples/demo` runs the whole loop on the sample estate and its
//! summary says what the sample was built to show, run after run.

use std::path::Path;
use std::process::Command;

/// The demo's summary, after asserting it succeeded.
fn run_demo(dir: &Path) -> String {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
    let output = Command::new("bash")
        .arg(&demo)
        .env("PLUMB_BIN", env!("CARGO_BIN_EXE_plumb"))
        .env("PLUMB_DEMO_DIR", dir)
        .env_remove("PLUMB_CONFIG")
        .env_remove("PLUMB_ACTOR")
        .output()
        .expect("bash runs examples/demo (it needs python3, as CI has)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "examples/demo failed:\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn the_demo_shows_the_whole_loop_on_the_sample_estate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    for _ in 0..2 {
        // A second run starts afresh and says the same.
        let summary = run_demo(&out);
        for expected in [
            "INV-01 inventory   8 failing results: inventory/financial-ref (4), inventory/required-fields (2), \
             inventory/unregistered-running (2)",
            "register audit: 5 matched, 0 with differences, 1 only in the register, 4 only in the inventory, \
             0 ambiguous",
            "CIS AWS v1.5: 106 failing, 18 for a person to judge, 0 not evaluable",
            "gate image: blocked (2 CVEs at high or critical); after exception EX-1: blocked (1 blocked, 1 excepted)",
            "gate dockerfile: blocked (2 violations); gate iac: blocked (1 unpinned)",
            "CFG-02 drift       1 unmanaged, 1 missing, 1 changed; 27 of 28 live resources managed; 1 alert(s) \
             received: plumb drift: 1 new unmanaged, 1 new missing, 1 new changed (1 unmanaged open)",
            "verified",
        ] {
            assert!(summary.contains(expected), "no {expected:?} in:\n{summary}");
        }
    }
    let drift = std::fs::read_to_string(out.join("drift.html")).unwrap();
    for planted in ["acme-prod-scratch-2026", "aws_instance.api_3", "tcp 22-22 0.0.0.0/0"] {
        assert!(drift.contains(planted), "drift.html does not name {planted}");
    }
    let check = std::fs::read_to_string(out.join("check.html")).unwrap();
    assert!(check.contains("cis-aws-1.5/5.2"), "check.html lists the CIS results");
}
