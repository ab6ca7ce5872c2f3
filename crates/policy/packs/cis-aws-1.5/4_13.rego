# METADATA
# title: "4.13 Route table changes monitored"
# description: >-
#   One account-level result through the shared chain (lib.monitoring_finding): a
#   multi-region, logging trail with read and write management events sends to a log
#   group; a metric filter there has every required term (order, quotes and spacing do not
#   matter; operators between terms are not checked); an alarm in the log group's region
#   watches its metric (name and namespace) with actions enabled; and it notifies an SNS
#   topic with a confirmed subscription. The fail message says where the chain stops.
#   The v1.5.0 pattern has no eventSource term, so none is required (Prowler requires
#   ec2.amazonaws.com, which later CIS versions add; it is allowed). Event names match
#   exactly: CreateRoute is not satisfied by CreateRouteTable.
# custom:
#   id: "4.13"
#   severity: medium
#   controls: ["CIS 4.13", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.logs.metric_filter, aws.cloudwatch.alarm, aws.sns.topic]
#   requires: [cloudtrail, logs, cloudwatch, sns]
#   remediation: >-
#     On the log group of the multi-region trail: aws logs put-metric-filter --log-group-name
#     GROUP --filter-name RouteTableChanges --metric-transformations
#     metricName=RouteTableChanges,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern
#     '{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }'; then aws cloudwatch put-metric-alarm
#     --alarm-name RouteTableChanges --metric-name RouteTableChanges --namespace CISBenchmark --statistic Sum
#     --period 300 --evaluation-periods 1 --threshold 1 --comparison-operator
#     GreaterThanOrEqualToThreshold --alarm-actions TOPIC_ARN, and subscribe a confirmed
#     endpoint to the topic.
package plumb.cis_aws_1_5.c4_13

import data.plumb.cis_aws_1_5.lib
import rego.v1

names := [
	"CreateRoute",
	"CreateRouteTable",
	"ReplaceRoute",
	"ReplaceRouteTableAssociation",
	"DeleteRouteTable",
	"DeleteRoute",
	"DisassociateRouteTable",
]

terms := lib.event_names(names)

findings contains lib.monitoring_finding(terms, "route table changes")
