//! The Better Stack heartbeat sink.

use serde_json::json;

use crate::receiver::Receiver;
use crate::{alert, assert_agent, deliver_one, failed, item, sink};

fn heartbeat(url: &str) -> Box<dyn plumb_sink::Sink> {
    sink(
        json!({"type": "heartbeat", "url_env": "HB_URL"}),
        &[("HB_URL", &format!("{url}/api/v1/heartbeat/HB1"))],
    )
}

#[tokio::test]
async fn beats_after_every_scan_and_reports_failures() {
    let monitor = Receiver::ok();
    let scans = [alert(vec![], vec![], 0), alert(vec![item("unmanaged", "k", "t")], vec![], 1), failed()];
    for scan in &scans {
        let delivery = deliver_one(heartbeat(&monitor.url), scan, None).await;
        assert!(delivery.ok, "{delivery:?}");
    }
    let requests = monitor.requests();
    let seen: Vec<(&str, &str)> = requests.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("GET", "/api/v1/heartbeat/HB1"),
            ("GET", "/api/v1/heartbeat/HB1"),
            ("GET", "/api/v1/heartbeat/HB1/fail"),
        ]
    );
    requests.iter().for_each(assert_agent);
}
