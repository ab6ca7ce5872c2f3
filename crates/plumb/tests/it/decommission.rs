//! `plumb asset decommission` and `plumb asset certificate` (policy §8) through the binary: a
//! laptop and a server, each refused while a piece of its evidence is missing (the piece
//! named), then completed; the certificate; and the records and files held to the chain.

use sha2::Digest;

use crate::support::{Env, arg, both_backends};

both_backends!(a_laptop_and_a_server_leave_with_their_evidence,);

const INVENTORY: &str = "key,kind,type,environment,owner,classification,location,status,financial_ref
SN-1,hardware,laptop,corporate,ana@example.com,confidential,London,in_service,FA-1
SRV-1,hardware,server,corporate,ana@example.com,restricted,DC1,in_service,FA-2
SRV-2,hardware,server,corporate,ana@example.com,restricted,DC1,in_service,FA-3
";

fn status(env: &Env, key: &str) -> String {
    env.plumb(&["asset", "show", key, "-o", "json"]).ok().json()["status"].as_str().unwrap().to_owned()
}

fn a_laptop_and_a_server_leave_with_their_evidence(env: &Env) {
    let inventory = env.write("inventory.csv", INVENTORY);
    env.plumb(&["asset", "import", arg(&inventory)]).ok();

    // A laptop: wiped through the MDM and handed back.
    let wrong =
        env.plumb(&["asset", "decommission", "SN-1", "--method", "secure-erase", "--ticket", "IT-7"]).code(2);
    assert!(wrong.stderr.contains("--method device-wipe"), "{}", wrong.stderr);
    assert_eq!(status(env, "SN-1"), "in_service", "nothing recorded for a refused start");
    env.plumb(&["asset", "decommission", "SN-1", "--method", "device-wipe", "--ticket", "IT-7"]).ok();
    assert_eq!(status(env, "SN-1"), "decommissioning");
    let again =
        env.plumb(&["asset", "decommission", "SN-1", "--method", "device-wipe", "--ticket", "IT-8"]).code(2);
    assert!(again.stderr.contains("has a sanitization record already"), "{}", again.stderr);
    let unreturned = env.plumb(&["asset", "decommission", "SN-1", "--complete"]).code(2);
    assert!(
        unreturned.stderr.contains("the hardware returned to IT (--returned-to EMAIL)"),
        "{}",
        unreturned.stderr
    );
    let done = env
        .plumb(&[
            "asset",
            "decommission",
            "SN-1",
            "--complete",
            "--returned-to",
            "it@example.com",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        (done["record"]["state"].as_str(), done["asset"]["status"].as_str()),
        (Some("complete"), Some("decommissioned"))
    );
    assert_eq!(done["record"]["category"], "clear");
    assert_eq!(done["missing"], serde_json::json!([]));

    // A server: secure erase, the archived ticket, a second person.
    let start = ["asset", "decommission", "SRV-1", "--method", "secure-erase", "--ticket", "CHG-42"];
    let mut started = start.to_vec();
    started.extend(["--tool", "nwipe 0.34", "--verification", "full", "--destination", "recycler"]);
    env.plumb(&started).ok();
    let bare = env.plumb(&["asset", "decommission", "SRV-1", "--complete"]).code(2);
    for piece in
        ["the archived ticket CHG-42 (--attach FILE)", "a second person's validation (--validated-by EMAIL)"]
    {
        assert!(bare.stderr.contains(piece), "no {piece:?} in {}", bare.stderr);
    }
    let ticket = env.write("CHG-42.txt", "CHG-42: wipe SRV-1 before it goes to the recycler\n");
    let same_person = env
        .plumb(&[
            "asset",
            "decommission",
            "SRV-1",
            "--complete",
            "--attach",
            arg(&ticket),
            "--validated-by",
            "tester@example.com",
        ])
        .code(2);
    assert!(same_person.stderr.contains("someone else validates"), "{}", same_person.stderr);
    assert!(
        !same_person.stderr.contains("archived ticket"),
        "the attachment was kept: {}",
        same_person.stderr
    );
    assert_eq!(status(env, "SRV-1"), "decommissioning");
    let done = env
        .plumb(&[
            "asset",
            "decommission",
            "SRV-1",
            "--complete",
            "--validated-by",
            "ism@example.com",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(done["asset"]["status"], "decommissioned");
    let digest = hex::encode(sha2::Sha256::digest(std::fs::read(&ticket).unwrap()));
    assert_eq!(done["record"]["attachments"][0]["sha256"], digest.as_str());
    assert_eq!(
        (done["record"]["tool"].as_str(), done["record"]["category"].as_str()),
        (Some("nwipe 0.34"), Some("purge"))
    );

    let page = env.plumb(&["asset", "certificate", "SRV-1", "-o", "html"]).ok().stdout;
    for expected in [
        "Certificate of sanitization: SRV-1",
        "secure-erase",
        "recycler",
        "ism@example.com",
        digest.as_str(),
        "FA-2",
    ] {
        assert!(page.contains(expected), "no {expected:?} in the certificate:\n{page}");
    }
    env.plumb(&["asset", "certificate", "SRV-2"]).code(2);

    // The plain transition no longer reaches decommissioned.
    env.plumb(&["asset", "transition", "SRV-2", "decommissioning"]).ok();
    let shortcut =
        env.plumb(&["asset", "transition", "SRV-2", "decommissioned", "--evidence", "trust me"]).code(2);
    assert!(shortcut.stderr.contains("plumb asset decommission SRV-2 --complete"), "{}", shortcut.stderr);

    // The records and the files are held to the chain.
    env.plumb(&["log", "verify"]).ok();
    let one_byte = if env.url.starts_with("postgres") { "decode('00', 'hex')" } else { "X'00'" };
    env.sql(&format!("UPDATE attachments SET content = {one_byte}"));
    let broken = env.plumb(&["log", "verify"]).code(1);
    let said = format!("{}{}", broken.stdout, broken.stderr);
    assert!(said.contains("attachments") && said.contains(&digest), "{said}");
}
