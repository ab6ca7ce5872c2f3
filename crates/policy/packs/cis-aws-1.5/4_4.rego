# METADATA
# title: "4.4 IAM policy changes monitored"
# description: >-
#   One account-level result through the shared chain (lib.monitoring_finding): a
#   multi-region, logging trail with read and write management events sends to a log
#   group; a metric filter there has every required term (order, quotes and spacing do not
#   matter; operators between terms are not checked); an alarm in the log group's region
#   watches its metric (name and namespace) with actions enabled; and it notifies an SNS
#   topic with a confirmed subscription. The fail message says where the chain stops.
# custom:
#   id: "4.4"
#   severity: medium
#   controls: ["CIS 4.4", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.logs.metric_filter, aws.cloudwatch.alarm, aws.sns.topic]
#   requires: [cloudtrail, logs, cloudwatch, sns]
#   remediation: >-
#     On the log group of the multi-region trail: aws logs put-metric-filter --log-group-name
#     GROUP --filter-name IAMPolicyChanges --metric-transformations
#     metricName=IAMPolicyChanges,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern
#     '{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || ($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }'; then aws cloudwatch put-metric-alarm
#     --alarm-name IAMPolicyChanges --metric-name IAMPolicyChanges --namespace CISBenchmark --statistic Sum
#     --period 300 --evaluation-periods 1 --threshold 1 --comparison-operator
#     GreaterThanOrEqualToThreshold --alarm-actions TOPIC_ARN, and subscribe a confirmed
#     endpoint to the topic.
package plumb.cis_aws_1_5.c4_4

import data.plumb.cis_aws_1_5.lib
import rego.v1

names := [
	"DeleteGroupPolicy",
	"DeleteRolePolicy",
	"DeleteUserPolicy",
	"PutGroupPolicy",
	"PutRolePolicy",
	"PutUserPolicy",
	"CreatePolicy",
	"DeletePolicy",
	"CreatePolicyVersion",
	"DeletePolicyVersion",
	"AttachRolePolicy",
	"DetachRolePolicy",
	"AttachUserPolicy",
	"DetachUserPolicy",
	"AttachGroupPolicy",
	"DetachGroupPolicy",
]

terms := lib.event_names(names)

findings contains lib.monitoring_finding(terms, "IAM policy changes")
