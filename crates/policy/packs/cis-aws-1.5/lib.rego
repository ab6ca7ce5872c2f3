# Helpers shared by the CIS AWS Foundations v1.5 checks (no checks of its own).
#
# Input of an account-scope check: {"account": ID, "regions": [...], "resources": [docs of the
# check's types in that account], "context": {"now": RFC 3339, ...}}; of a resource-scope
# check: {"resources": [docs], "context": {"documents": [the account's context documents]}}.
# Each document is an inventory asset: key, type, attributes (the AWS API's field names), tags.
#
# Settings the context may carry (each has a default that follows the benchmark):
#   root_recent_use_days  1.7: root use within this many days fails (default 1, as Prowler)
#   cis_admin_ports       5.1-5.3: remote administration ports (default [22, 3389])
#   cis_admin_udp         5.1-5.3: also judge UDP rules on those ports (default false)
package plumb.cis_aws_1_5.lib

import rego.v1

status(failed) := "fail" if failed

status(failed) := "pass" if not failed

# The documents of one type among the input's resources.
# Documents by type, grouped once per evaluation: a rule is evaluated once and kept, while a
# function is evaluated again at every call, so `docs` inside a per-resource rule walked every
# document for every resource (quadratic: 341 s for 100,000 resources).
resource_types := {r.type | some r in input.resources}

documents_by_type[type] := [d | some d in input.resources; d.type == type] if some type in resource_types

docs(type) := object.get(documents_by_type, type, [])

# The one settings document of a type (IAM account settings, S3 account settings).
doc(type) := docs(type)[0]

# The account documents of one type that a resource-scope check asked for as context.
context_docs(type) := [d | some d in object.get(input.context, "documents", []); d.type == type]

# A setting from the context, or its default.
setting(name, fallback) := get(input.context, name, fallback)

# Days from an RFC 3339 time to the evaluation's "now".
days_since(ts) := (time.parse_rfc3339_ns(input.context.now) - time.parse_rfc3339_ns(ts)) / ((24 * 3600) * 1000000000)

# A single value or a list, always as a list (IAM policy fields take both).
as_list(value) := value if is_array(value)

as_list(value) := [] if value == null

as_list(value) := [value] if {
	not is_array(value)
	value != null
}

manual(key, message, evidence) := {"key": key, "status": "manual", "message": message, "evidence": evidence}

# The finding for input that was not collected: never a pass.
not_collected(key, what) := {
	"key": key,
	"status": "error",
	"message": sprintf("%s was not collected, so this recommendation cannot be judged", [what]),
	"evidence": {"missing": what},
}

# The value at `key` of an object, or `fallback` when it is absent or null.
get(obj, key, fallback) := value if {
	value := object.get(obj, key, null)
	value != null
} else := fallback

# Whether a value is true: JSON true, or the text "true" in any case (the credential report).
truthy(value) if value == true

truthy(value) if {
	is_string(value)
	lower(value) == "true"
}

# Whether a value is a timestamp, not one of the credential report's words (N/A,
# no_information, not_supported).
is_timestamp(value) := true if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}`, value)
} else := false

# The region of an ARN (arn:partition:service:REGION:account:...); "" when there is none.
arn_region(arn) := parts[3] if {
	parts := split(arn, ":")
	count(parts) > 4
} else := ""

# --- Regions ------------------------------------------------------------------------------

# The key of a region-level finding.
region_key(region) := sprintf("%s:%s", [input.account, region])

# The settings documents of a type for one region (one when it was collected).
region_docs(type, region) := [d | some d in docs(type); d.attributes.Region == region]

# --- IAM ----------------------------------------------------------------------------------

root_user := "<root_account>"

iam_settings_missing if count(docs("aws.iam.account")) == 0

iam_attributes := doc("aws.iam.account").attributes

default credential_report := []

credential_report := iam_attributes.CredentialReport if is_array(iam_attributes.CredentialReport)

credential_report_missing if iam_settings_missing

credential_report_missing if {
	not iam_settings_missing
	not is_array(iam_attributes.CredentialReport)
}

# The credential report's row of the root user.
root_rows := [row | some row in credential_report; row.user == root_user]

# The credential report's rows of IAM users (root excluded, as CIS excludes it).
user_rows := [row | some row in credential_report; row.user != root_user]

# A set, so looking a user up is one probe rather than a walk of the whole report.
reported_arns := {row.arn | some row in credential_report}

reported(arn) if arn in reported_arns

# IAM users newer than the credential report (it can be up to 4 hours old): not judged.
unreported_users := [user | some user in docs("aws.iam.user"); not reported(user.key)]

unreported(user) := {
	"key": user.key,
	"status": "error",
	"message": sprintf("IAM user %s is not in the credential report (created after it was generated); the next collection judges it", [get(user.attributes, "UserName", user.key)]),
	"evidence": {"UserName": get(user.attributes, "UserName", null)},
}

# The error findings every per-user credential report check shares: no report at all, or
# users the report does not know yet.
credential_report_errors contains not_collected(input.account, "the IAM credential report (aws.iam.account)") if credential_report_missing

credential_report_errors contains unreported(user) if {
	not credential_report_missing
	some user in unreported_users
}

# --- IAM and S3 policy documents ----------------------------------------------------------

statements(policy) := as_list(object.get(policy, "Statement", [])) if is_object(policy)

statements(policy) := [] if not is_object(policy)

# A principal that means everyone: "*", {"AWS": "*"} or {"AWS": ["*"]}.
everyone(principal) if principal == "*"

everyone(principal) if {
	is_object(principal)
	"*" in as_list(object.get(principal, "AWS", []))
}

# --- CloudTrail ---------------------------------------------------------------------------

trail_name(trail) := get(trail.attributes, "Name", trail.key)

# The field selectors of an advanced event selector named `field`.
field_selectors(selector, field) := [f | some f in get(selector, "FieldSelectors", []); f.Field == field]

advanced_management(selector) if {
	some f in field_selectors(selector, "eventCategory")
	"Management" in as_list(get(f, "Equals", []))
}

# Which side of reads/writes an advanced selector's readOnly field lets through: absent means
# both; Equals true reads, Equals false writes; NotEquals the other way round.
advanced_reads(selector) if count(field_selectors(selector, "readOnly")) == 0

advanced_reads(selector) if {
	some f in field_selectors(selector, "readOnly")
	"true" in as_list(get(f, "Equals", []))
}

advanced_reads(selector) if {
	some f in field_selectors(selector, "readOnly")
	"false" in as_list(get(f, "NotEquals", []))
}

advanced_writes(selector) if count(field_selectors(selector, "readOnly")) == 0

advanced_writes(selector) if {
	some f in field_selectors(selector, "readOnly")
	"false" in as_list(get(f, "Equals", []))
}

advanced_writes(selector) if {
	some f in field_selectors(selector, "readOnly")
	"true" in as_list(get(f, "NotEquals", []))
}

# Whether a trail records management events that read (and that write), with classic or
# advanced event selectors; two selectors (ReadOnly + WriteOnly) together cover both.
management_reads(trail) if {
	some s in get(trail.attributes, "EventSelectors", [])
	get(s, "IncludeManagementEvents", false) == true
	get(s, "ReadWriteType", "All") in {"All", "ReadOnly"}
}

management_reads(trail) if {
	some s in get(trail.attributes, "AdvancedEventSelectors", [])
	advanced_management(s)
	advanced_reads(s)
}

management_writes(trail) if {
	some s in get(trail.attributes, "EventSelectors", [])
	get(s, "IncludeManagementEvents", false) == true
	get(s, "ReadWriteType", "All") in {"All", "WriteOnly"}
}

management_writes(trail) if {
	some s in get(trail.attributes, "AdvancedEventSelectors", [])
	advanced_management(s)
	advanced_writes(s)
}

multi_region(trail) := get(trail.attributes, "IsMultiRegionTrail", false) == true

logging(trail) := get(get(trail.attributes, "Status", {}), "IsLogging", false) == true

reads_and_writes(trail) := true if {
	management_reads(trail)
	management_writes(trail)
} else := false

# A trail as CIS 3.1 wants one: multi-region, logging, management events read and write.
full_trail(trail) if {
	multi_region(trail) == true
	logging(trail) == true
	reads_and_writes(trail) == true
}

# What decided whether a trail qualifies.
trail_summary(trail) := {
	"Name": trail_name(trail),
	"IsMultiRegionTrail": multi_region(trail),
	"IsLogging": logging(trail),
	"ManagementReadWrite": reads_and_writes(trail),
	"CloudWatchLogsLogGroupArn": get(trail.attributes, "CloudWatchLogsLogGroupArn", null),
}

# Management event sources a selector leaves out (KMS, RDS Data API): a narrowing worth a note.
excluded_sources(trail) := array.concat(
	[src | some s in get(trail.attributes, "EventSelectors", []); some src in get(s, "ExcludeManagementEventSources", [])],
	[src |
		some s in get(trail.attributes, "AdvancedEventSelectors", [])
		advanced_management(s)
		some f in field_selectors(s, "eventSource")
		some src in as_list(get(f, "NotEquals", []))
	],
)

# --- S3 buckets of trails -----------------------------------------------------------------

# The inventory documents of the bucket a trail delivers to (none: another account's, or not
# collected).
trail_buckets(trail) := [b |
	some b in docs("aws.s3.bucket")
	b.attributes.Name == get(trail.attributes, "S3BucketName", "")
]

# --- Monitoring (4.1-4.15): trail -> log group -> metric filter -> alarm -> SNS subscriber ----

# Trails whose log group counts: full (as 3.1) and sending to CloudWatch Logs.
monitoring_trails := [t |
	some t in docs("aws.cloudtrail.trail")
	full_trail(t)
	get(t.attributes, "CloudWatchLogsLogGroupArn", "") != ""
]

# The log group of a trail, from arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*.
log_group(trail) := {"name": parts[6], "region": parts[3]} if {
	parts := split(trail.attributes.CloudWatchLogsLogGroupArn, ":")
	count(parts) > 6
}

# One `$.field OP value` (or `$.field NOT EXISTS`) term of a filter pattern, with or without
# quotes and spaces.
# (regorus' regex has no \d or \s classes: they are spelled out.)
term_pattern := `\$\.[A-Za-z0-9_.\-\[\]]+[ \t\r\n]*(?:!=|=)[ \t\r\n]*(?:"[^"]*"|[^ \t\r\n&|(){}"]+)|\$\.[A-Za-z0-9_.\-\[\]]+[ \t\r\n]+NOT[ \t\r\n]+EXISTS`

# A term without quotes and whitespace: `$.eventName = "ConsoleLogin"` and
# `$.eventName=ConsoleLogin` are the same term; CreateRoute and CreateRouteTable are not.
canonical_term(term) := regex.replace(replace(term, "\"", ""), `[ \t\r\n]+`, "")

# The terms of a filter pattern, as a set (order, grouping and spacing do not matter).
pattern_terms(pattern) := {canonical_term(t) | some t in regex.find_n(term_pattern, pattern, -1)}

# The terms a check requires, written as patterns are.
required_terms(terms) := {canonical_term(t) | some t in terms}

filter_has_terms(filter, required) if {
	have := pattern_terms(get(filter.attributes, "FilterPattern", ""))
	count(required - have) == 0
}

confirmed(topic) if {
	some s in get(topic.attributes, "Subscriptions", [])
	startswith(get(s, "SubscriptionArn", ""), "arn:")
}

monitoring_filters(required) := [m |
	some t in monitoring_trails
	group := log_group(t)
	some f in docs("aws.logs.metric_filter")
	f.attributes.LogGroupName == group.name
	arn_region(f.key) == group.region
	filter_has_terms(f, required)
	m := {"trail": t, "group": group, "filter": f}
]

monitoring_alarms(filters) := [m |
	some x in filters
	some metric in get(x.filter.attributes, "MetricTransformations", [])
	some a in docs("aws.cloudwatch.alarm")
	arn_region(a.key) == x.group.region
	a.attributes.MetricName == metric.MetricName
	a.attributes.Namespace == metric.MetricNamespace
	m := object.union(x, {"metric": metric, "alarm": a})
]

monitoring_chains(alarms) := [m |
	some x in alarms
	get(x.alarm.attributes, "ActionsEnabled", true) != false
	some action in get(x.alarm.attributes, "AlarmActions", [])
	some topic in docs("aws.sns.topic")
	get(topic.attributes, "TopicArn", topic.key) == action
	confirmed(topic)
	m := object.union(x, {"topic": topic})
]

# The one account-level finding of a 4.x check: `terms` are the terms its filter must contain,
# `what` names the events.
monitoring_finding(terms, what) := result if {
	required := required_terms(terms)
	filters := monitoring_filters(required)
	alarms := monitoring_alarms(filters)
	chains := monitoring_chains(alarms)
	result := monitoring_result(what, terms, filters, alarms, chains)
}

# The log groups of the monitoring trails, as {name, region}.
monitoring_groups := {log_group(t) | some t in monitoring_trails}

# The filters on those log groups, each with the required terms it lacks (as written).
filter_gaps(terms) := [{"FilterName": f.attributes.FilterName, "LogGroupName": f.attributes.LogGroupName, "FilterPattern": get(f.attributes, "FilterPattern", null), "Missing": missing} |
	some f in docs("aws.logs.metric_filter")
	some group in monitoring_groups
	f.attributes.LogGroupName == group.name
	arn_region(f.key) == group.region
	have := pattern_terms(get(f.attributes, "FilterPattern", ""))
	missing := sort([t | some t in terms; not canonical_term(t) in have])
]

# The filter that comes closest (has some of the `n` terms), named in the message.
closest(gaps, n) := sprintf("; closest is filter %s, which lacks %s", [best.FilterName, concat(", ", best.Missing)]) if {
	fewest := min([count(g.Missing) | some g in gaps])
	fewest < n
	best := [g | some g in gaps; count(g.Missing) == fewest][0]
} else := ""

monitoring_result(what, terms, filters, alarms, chains) := {
	"key": input.account,
	"status": "pass",
	"message": sprintf("%s: monitored through trail %s -> log group %s -> metric filter %s -> alarm %s -> SNS topic %s with a confirmed subscription", [what, trail_name(c.trail), c.group.name, c.filter.attributes.FilterName, c.alarm.attributes.AlarmName, c.topic.key]),
	"evidence": {
		"Trail": trail_name(c.trail),
		"LogGroup": c.group,
		"MetricFilter": c.filter.attributes.FilterName,
		"FilterPattern": c.filter.attributes.FilterPattern,
		"MetricName": c.metric.MetricName,
		"MetricNamespace": c.metric.MetricNamespace,
		"Alarm": c.alarm.attributes.AlarmName,
		"Topic": c.topic.key,
	},
} if {
	count(chains) > 0
	c := chains[0]
} else := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("%s: alarm(s) %s watch the metric, but none has actions enabled and notifies an SNS topic with a confirmed (not PendingConfirmation) subscription", [what, concat(", ", names)]),
	"evidence": {
		"Alarms": [{"AlarmName": a.alarm.attributes.AlarmName, "ActionsEnabled": get(a.alarm.attributes, "ActionsEnabled", null), "AlarmActions": get(a.alarm.attributes, "AlarmActions", [])} | some a in alarms],
		"Topics": [{"TopicArn": t.key, "Subscriptions": get(t.attributes, "Subscriptions", [])} |
			some t in docs("aws.sns.topic")
			some a in alarms
			t.key in get(a.alarm.attributes, "AlarmActions", [])
		],
	},
} if {
	count(alarms) > 0
	names := sort({a.alarm.attributes.AlarmName | some a in alarms})
} else := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("%s: metric filter(s) %s match, but no CloudWatch alarm in the log group's region watches their metric (name and namespace)", [what, concat(", ", names)]),
	"evidence": {"MetricFilters": [{"FilterName": f.filter.attributes.FilterName, "LogGroup": f.group, "MetricTransformations": get(f.filter.attributes, "MetricTransformations", [])} | some f in filters]},
} if {
	count(filters) > 0
	names := sort({f.filter.attributes.FilterName | some f in filters})
} else := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("%s: no metric filter on log group(s) %s has all %d required terms%s", [what, concat(", ", groups), count(terms), closest(gaps, count(terms))]),
	"evidence": {"LogGroups": groups, "RequiredTerms": terms, "MetricFilters": gaps},
} if {
	count(monitoring_trails) > 0
	groups := sort({g.name | some g in monitoring_groups})
	gaps := filter_gaps(terms)
} else := {
	"key": input.account,
	"status": "fail",
	"message": sprintf("%s: no trail is multi-region, logging, recording read and write management events and sending to CloudWatch Logs, so no metric filter can watch them", [what]),
	"evidence": {"Trails": [trail_summary(t) | some t in docs("aws.cloudtrail.trail")]},
}

# --- Networking ---------------------------------------------------------------------------

admin_ports := setting("cis_admin_ports", [22, 3389])

# Protocols judged: TCP always, UDP when configured; "all" (-1) always covers the ports.
admin_protocols := {"tcp", "6", "udp", "17"} if {
	setting("cis_admin_udp", false) == true
} else := {"tcp", "6"}

# Whether a port range (inclusive) reaches an administration port.
reaches_admin_port(from, to) if {
	some port in admin_ports
	from <= port
	port <= to
}

# An IpPermissions rule of a security group that reaches an administration port.
sg_rule_admin(rule) if lower(sprintf("%v", [rule.IpProtocol])) in {"-1", "all"}

sg_rule_admin(rule) if {
	lower(rule.IpProtocol) in admin_protocols
	reaches_admin_port(rule.FromPort, rule.ToPort)
}

# The ingress rules of a group open to `cidr` (0.0.0.0/0 or ::/0) on an administration port.
sg_open_rules(group, cidr) := [rule |
	some rule in get(group.attributes, "IpPermissions", [])
	sg_rule_from(rule, cidr)
	sg_rule_admin(rule)
]

sg_rule_from(rule, "0.0.0.0/0") if {
	some range in get(rule, "IpRanges", [])
	range.CidrIp == "0.0.0.0/0"
}

sg_rule_from(rule, "::/0") if {
	some range in get(rule, "Ipv6Ranges", [])
	range.CidrIpv6 == "::/0"
}

# --- Credential report rows ---------------------------------------------------------------

# A yes/no column of a credential report row, always true or false.
flag(row, column) := true if {
	truthy(object.get(row, column, "false"))
} else := false

# A column's value, "N/A" when the row lacks it.
column(row, name) := get(row, name, "N/A")

# Whole days since a credential report timestamp, for messages.
age(ts) := floor(days_since(ts))

# --- S3 object-level logging (3.10, 3.11) -------------------------------------------------

# The ReadWriteType values of a classic selector that record one side ("read" or "write").
read_write_types("read") := {"All", "ReadOnly"}

read_write_types("write") := {"All", "WriteOnly"}

# A classic DataResources value that covers every object of a bucket: all buckets
# (arn:aws:s3, arn:aws:s3:::, arn:aws:s3:::*/*) or the whole bucket (arn:aws:s3:::NAME/).
s3_value_covers(value, _) if regex.match(`^arn:[a-z-]+:s3(:::)?$`, value)

s3_value_covers(value, name) if {
	parts := split(value, ":::")
	count(parts) == 2
	regex.match(`^arn:[a-z-]+:s3$`, parts[0])
	parts[1] in {"*/*", concat("", [name, "/"]), concat("", [name, "/*"])}
}

classic_s3_events(trail, bucket, side) if {
	some s in get(trail.attributes, "EventSelectors", [])
	get(s, "ReadWriteType", "All") in read_write_types(side)
	some d in get(s, "DataResources", [])
	d.Type == "AWS::S3::Object"
	some value in get(d, "Values", [])
	s3_value_covers(value, bucket.attributes.Name)
}

advanced_side(s, "read") if advanced_reads(s)

advanced_side(s, "write") if advanced_writes(s)

# Fields an S3 data event selector may use without narrowing what it records; any other
# field (eventName, eventSource, ...) records only some events, so the selector does not count.
advanced_s3_fields := {"eventCategory", "resources.type", "resources.ARN", "readOnly"}

advanced_s3_events(trail, bucket, side) if {
	some s in get(trail.attributes, "AdvancedEventSelectors", [])
	some f in field_selectors(s, "eventCategory")
	"Data" in as_list(get(f, "Equals", []))
	some t in field_selectors(s, "resources.type")
	"AWS::S3::Object" in as_list(get(t, "Equals", []))
	count([x | some x in get(s, "FieldSelectors", []); not x.Field in advanced_s3_fields]) == 0
	advanced_side(s, side)
	advanced_arn_covers(s, concat("", [bucket.key, "/"]))
}

# Whether the resources.ARN conditions (if any) leave every object of the bucket in: a
# StartsWith that the bucket's objects match (when there are StartsWith values), no
# NotStartsWith or NotEquals that takes any of them out, and no Equals (single objects).
advanced_arn_covers(s, prefix) if {
	every f in field_selectors(s, "resources.ARN") {
		count(get(f, "Equals", [])) == 0
		starts := get(f, "StartsWith", [])
		starts_ok(starts, prefix)
		every p in get(f, "NotStartsWith", []) {
			not startswith(prefix, p)
			not startswith(p, prefix)
		}
		every p in get(f, "NotEquals", []) {
			not startswith(p, prefix)
		}
	}
}

starts_ok([], _) := true

starts_ok(starts, prefix) if {
	some p in starts
	startswith(prefix, p)
}

# The trails that record S3 object-level events of one side for a bucket: multi-region and
# logging, with a classic or advanced selector that covers the bucket.
s3_event_trails(bucket, side) := [trail_name(t) |
	some t in docs("aws.cloudtrail.trail")
	multi_region(t) == true
	logging(t) == true
	s3_events(t, bucket, side)
]

s3_events(trail, bucket, side) if classic_s3_events(trail, bucket, side)

s3_events(trail, bucket, side) if advanced_s3_events(trail, bucket, side)

# The terms `$.eventName = NAME` for each name (OR-ed in the filter pattern).
event_names(names) := [sprintf("$.eventName = %s", [n]) | some n in names]

# NACL protocol numbers judged: TCP (6), and UDP (17) when configured.
admin_protocol_numbers := {"6", "17"} if {
	setting("cis_admin_udp", false) == true
} else := {"6"}
