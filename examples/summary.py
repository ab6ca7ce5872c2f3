"""The ten-second summary of examples/demo: what was found, per control, and the files to open.
Reads what the demo saved: the runs plumb recorded (runs.json), the gates' JSON documents and
the alerts the local receiver took. Prints; changes nothing."""

import json
import os
import sys

out = sys.argv[1]


def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


runs = load("runs.json")["items"]


def latest(kind):
    return next(r for r in runs if r["kind"] == kind)


check = latest("check")
drift = latest("drift")["counts"]
image, image_again = load("gate-image.json"), load("gate-image-again.json")
dockerfile, iac = load("gate-dockerfile.json"), load("gate-iac.json")
with open(os.path.join(out, "alerts.jsonl")) as f:
    alerts = [json.loads(line) for line in f if line.strip()]


def per_control(control):
    """Open findings of the checks of one control, and the checks that failed most."""
    rows = [s for s in check["details"]["summary"] if control in s["controls"]]
    failed = sum(s["fail"] for s in rows)
    manual = sum(s["manual"] for s in rows)
    error = sum(s["error"] for s in rows)
    worst = sorted((s for s in rows if s["fail"]), key=lambda s: -s["fail"])[:3]
    return failed, manual, error, ", ".join(f"{s['check']} ({s['fail']})" for s in worst)


inv = per_control("INV-01")
register = next(r for r in runs if r["kind"] == "audit" and r["name"] == "register")["counts"]["classes"]
cfg = per_control("CFG-01")
violations = sum(len(f["violations"]) for f in dockerfile["files"])
unpinned = len(iac["findings"])
print()
print("summary (policy controls; every number from a recorded run)")
print(f"  INV-01 inventory   {inv[0]} failing results: {inv[3]}")
print(f"                     register audit: {register['matched']} matched, {register['matched_with_differences']}"
      f" with differences, {register['only_in_register']} only in the register,"
      f" {register['only_in_inventory']} only in the inventory, {register['ambiguous']} ambiguous")
print(f"  CFG-01 baselines   CIS AWS v1.5: {cfg[0]} failing, {cfg[1]} for a person to judge, {cfg[2]} not evaluable")
print(f"                     gate image: {image['outcome']} ({image['decisions'].get('blocked', 0)} CVEs at high or critical);"
      f" after exception EX-1: {image_again['outcome']} ({image_again['decisions'].get('blocked', 0)} blocked,"
      f" {image_again['decisions'].get('excepted', 0)} excepted)")
print(f"                     gate dockerfile: {dockerfile['outcome']} ({violations} violations);"
      f" gate iac: {iac['outcome']} ({unpinned} unpinned)")
print(f"  CFG-02 drift       {drift['unmanaged']} unmanaged, {drift['missing']} missing, {drift['changed']} changed;"
      f" {drift['managed']} of {drift['live']} live resources managed; {len(alerts)} alert(s) received:"
      f" {alerts[0]['text'] if alerts else 'none'}")
print()
print(f"open: {out}/check.html  {out}/drift.html  {out}/audit-register.html  {out}/exceptions.csv  (every log and output: {out}/)")
