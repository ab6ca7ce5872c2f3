//! One or two examples at the end of every command's help, kept in one table so a test can
//! hold every command to it (and no entry can name a command that does not exist).

/// (command path, examples). Each example is a command line; a `#` comment says what it shows.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("init", &["plumb init                                  # plumb.toml and the database, here"]),
    ("asset add", &["plumb asset add --key SN-1 --kind hardware --type laptop --owner ana@example.com"]),
    ("asset show", &["plumb asset show SN-1 -o json"]),
    (
        "asset list",
        &[
            "plumb asset list --environment production --status in_service",
            "plumb asset list --tag team=web -o csv > web.csv",
        ],
    ),
    ("asset set", &["plumb asset set SN-1 --location 'HQ, floor 2' --classification internal"]),
    ("asset import", &["plumb asset import inventory.csv            # all of the file or nothing"]),
    ("asset export", &["plumb asset export -o json > inventory.json"]),
    ("asset history", &["plumb asset history SN-1                   # who changed what, before and after"]),
    ("asset link", &["plumb asset link SN-1 runs_on SRV-DC1-001"]),
    (
        "asset transition",
        &[
            "plumb asset transition SN-1 in_service",
            "plumb asset transition SN-1 decommissioning --evidence TICKET-42",
        ],
    ),
    (
        "asset decommission",
        &[
            "plumb asset decommission SRV-DC1-002 --method secure-erase --ticket CHG-42 --tool 'nwipe 0.34'",
            "plumb asset decommission SRV-DC1-002 --complete --attach CHG-42.pdf --validated-by ism@example.com",
        ],
    ),
    ("asset certificate", &["plumb asset certificate SRV-DC1-002 -o html > certificate.html"]),
    (
        "asset reassign-production",
        &["plumb asset reassign-production            # after [roles] changed in plumb.toml"],
    ),
    ("db migrate", &["plumb db migrate"]),
    ("db status", &["plumb db status -o json"]),
    ("log verify", &["plumb log verify                           # exit 1 names the first broken event"]),
    ("sync", &["plumb sync                                 # every [[source]] of plumb.toml"]),
    (
        "sync aws",
        &["plumb sync aws --regions all", "AWS_PROFILE=audit plumb sync aws --regions eu-west-1,us-east-1"],
    ),
    ("sync terraform", &["plumb sync terraform prod.tfstate s3://tf-state/network.tfstate"]),
    ("sync file", &["plumb sync file mdm-laptops.csv            # mapped by its [[source]] in plumb.toml"]),
    ("sync snapshot", &["plumb sync snapshot recordings/prod-2026-12-01.jsonl"]),
    (
        "sync status",
        &["plumb sync status                          # every scope: complete, failed, stale or never"],
    ),
    ("run list", &["plumb run list --kind drift --limit 5"]),
    ("run show", &["plumb run show 01JDX8Z6Q4RBN1M3Y7T2KVW9CE -o json"]),
    (
        "check",
        &[
            "plumb check --pack cis-aws-1.5 --fail-on high",
            "plumb check --policy ./policies -o sarif > check.sarif",
        ],
    ),
    ("drift", &["plumb drift --fail-on unmanaged", "plumb drift --env production -o html > drift.html"]),
    ("policy list", &["plumb policy list --pack cis-aws-1.5"]),
    (
        "policy show",
        &["plumb policy show cis-aws-1.5                # the pack's Rego, remediation and controls"],
    ),
    (
        "gate image",
        &["trivy image -f json -o trivy.json IMAGE && plumb gate image --report trivy.json -o sarif"],
    ),
    ("gate dockerfile", &["plumb gate dockerfile Dockerfile build/*.Dockerfile"]),
    ("gate iac", &["plumb gate iac infra/ --env production"]),
    ("gate pr", &["GITHUB_TOKEN=… plumb gate pr --repo acme/infra --pr 42"]),
    ("audit changes", &["plumb audit changes --repo acme/infra --since 2026-10-01"]),
    (
        "evidence",
        &[
            "plumb evidence --control INV-01,CFG-01,CFG-02 --from 2026-01-01 --to 2027-01-01 --out evidence-2026.zip",
        ],
    ),
    (
        "evidence verify",
        &["plumb evidence verify evidence-2026.zip --pubkey plumb-evidence.pub   # exit 1 names what broke"],
    ),
    ("evidence keygen", &["plumb evidence keygen --out keys/"]),
    (
        "audit register",
        &[
            "plumb audit register far-2026-12.csv -o html > register-audit.html",
            "plumb audit register far.xlsx --map 'Inventarnr.=asset_number' --map Seriennr.=serial",
        ],
    ),
    (
        "exception request",
        &[
            "plumb exception request --check 'cis-aws-1.5/2.1.*' --select 'type=aws.s3.bucket,tag:team=web' \\\n    --justification 'public website' --control 'CloudFront OAC only' --expires 2027-03-31",
        ],
    ),
    ("exception approve", &["plumb --actor infosec@example.com exception approve EX-1"]),
    (
        "exception reject",
        &["plumb exception reject EX-2 --reason 'fix it instead: a lifecycle rule is enough'"],
    ),
    ("exception accept-risk", &["plumb --actor hop@example.com exception accept-risk EX-1"]),
    ("exception revoke", &["plumb exception revoke EX-1 --reason 'bucket replaced'"]),
    (
        "exception renew",
        &["plumb exception renew EX-1 --expires 2027-06-30   # approved again before it applies"],
    ),
    (
        "exception list",
        &["plumb exception list --expiring-within 14d", "plumb exception list --status active -o csv"],
    ),
    ("exception show", &["plumb exception show EX-1"]),
    ("exception remind", &["plumb exception remind --within 14d"]),
    ("token create", &["plumb token create --name agent:nightly-sync --role sre_lead --expires 2027-06-30"]),
    ("token list", &["plumb token list"]),
    ("token revoke", &["plumb token revoke 01JDX8Z6Q4RBN1M3Y7T2KVW9CE"]),
    (
        "serve",
        &[
            "plumb serve --listen 0.0.0.0:8080",
            "curl -H \"Authorization: Bearer $TOKEN\" localhost:8080/api/v1/assets?environment=production",
        ],
    ),
    ("schedule", &["plumb schedule --next 5                    # is \"0 9 1 */2 *\" really bi-monthly?"]),
];

/// `command` with each entry's examples at the end of its help.
pub fn attach(mut command: clap::Command) -> clap::Command {
    for (path, examples) in EXAMPLES {
        let text = format!("Examples:\n  {}", examples.join("\n  "));
        command = with(command, &path.split(' ').collect::<Vec<_>>(), text);
    }
    command
}

fn with(command: clap::Command, path: &[&str], text: String) -> clap::Command {
    match path {
        [] => command.after_help(text),
        [first, rest @ ..] => command.mut_subcommand(*first, |sub| with(sub, rest, text)),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every command a person runs, as `asset add`; a group that runs on its own (`sync`) too.
    fn leaves(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        let subcommands: Vec<&clap::Command> =
            command.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if !path.is_empty() && (subcommands.is_empty() || !command.is_subcommand_required_set()) {
            found.push(path.to_owned());
        }
        for sub in subcommands {
            let name = if path.is_empty() {
                sub.get_name().to_owned()
            } else {
                format!("{path} {}", sub.get_name())
            };
            leaves(sub, &name, found);
        }
    }

    #[test]
    fn every_command_ends_its_help_with_examples() {
        let mut commands = Vec::new();
        leaves(&crate::cli::Cli::command(), "", &mut commands);
        let named: Vec<&str> = EXAMPLES.iter().map(|(path, _)| *path).collect();
        let missing: Vec<&String> = commands.iter().filter(|c| !named.contains(&c.as_str())).collect();
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
        let unknown: Vec<&&str> = named.iter().filter(|n| !commands.iter().any(|c| c == *n)).collect();
        assert!(unknown.is_empty(), "examples for no command: {unknown:?}");
        let help = attach(crate::cli::Cli::command())
            .find_subcommand_mut("exception")
            .and_then(|e| e.find_subcommand_mut("remind"))
            .map(|remind| remind.render_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("Examples:\n  plumb exception remind --within 14d"), "{help}");
    }

    #[test]
    fn global_flags_have_their_own_heading() {
        let mut command = attach(crate::cli::Cli::command());
        command.build();
        let check =
            command.find_subcommand_mut("check").map(|c| c.render_help().to_string()).unwrap_or_default();
        let global = check.find("Global options:").unwrap_or_else(|| panic!("{check}"));
        assert!(check[global..].contains("--database-url"), "{check}");
        assert!(!check[..global].contains("--database-url"), "{check}");
    }
}
