# METADATA
# title: "4.15 AWS Organizations changes monitored"
# description: >-
#   One account-level result through the shared chain (lib.monitoring_finding): a
#   multi-region, logging trail with read and write management events sends to a log
#   group; a metric filter there has every required term (order, quotes and spacing do not
#   matter; operators between terms are not checked); an alarm in the log group's region
#   watches its metric (name and namespace) with actions enabled; and it notifies an SNS
#   topic with a confirmed subscription. The fail message says where the chain stops.
#   The 18 event names of v1.5.0 (Prowler also wants CancelHandshake, CreateOrganization and
#   EnableAllFeatures; they are allowed, not required).
# custom:
#   id: "4.15"
#   severity: medium
#   controls: ["CIS 4.15", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.logs.metric_filter, aws.cloudwatch.alarm, aws.sns.topic]
#   requires: [cloudtrail, logs, cloudwatch, sns]
#   remediation: >-
#     On the log group of the multi-region trail: aws logs put-metric-filter --log-group-name
#     GROUP --filter-name OrganizationsChanges --metric-transformations
#     metricName=OrganizationsChanges,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern
#     '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName = AttachPolicy) || ($.eventName = CreateAccount) || ($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || ($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || ($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName = RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }'; then aws cloudwatch put-metric-alarm
#     --alarm-name OrganizationsChanges --metric-name OrganizationsChanges --namespace CISBenchmark --statistic Sum
#     --period 300 --evaluation-periods 1 --threshold 1 --comparison-operator
#     GreaterThanOrEqualToThreshold --alarm-actions TOPIC_ARN, and subscribe a confirmed
#     endpoint to the topic.
package plumb.cis_aws_1_5.c4_15

import data.plumb.cis_aws_1_5.lib
import rego.v1

names := [
	"AcceptHandshake",
	"AttachPolicy",
	"CreateAccount",
	"CreateOrganizationalUnit",
	"CreatePolicy",
	"DeclineHandshake",
	"DeleteOrganization",
	"DeleteOrganizationalUnit",
	"DeletePolicy",
	"DetachPolicy",
	"DisablePolicyType",
	"EnablePolicyType",
	"InviteAccountToOrganization",
	"LeaveOrganization",
	"MoveAccount",
	"RemoveAccountFromOrganization",
	"UpdatePolicy",
	"UpdateOrganizationalUnit",
]

terms := array.concat(["$.eventSource = organizations.amazonaws.com"], lib.event_names(names))

findings contains lib.monitoring_finding(terms, "AWS Organizations changes")
