# METADATA
# title: "4.12 Network gateway changes monitored"
# description: >-
#   One account-level result through the shared chain (lib.monitoring_finding): a
#   multi-region, logging trail with read and write management events sends to a log
#   group; a metric filter there has every required term (order, quotes and spacing do not
#   matter; operators between terms are not checked); an alarm in the log group's region
#   watches its metric (name and namespace) with actions enabled; and it notifies an SNS
#   topic with a confirmed subscription. The fail message says where the chain stops.
# custom:
#   id: "4.12"
#   severity: medium
#   controls: ["CIS 4.12", "CFG-01"]
#   scope: account
#   types: [aws.cloudtrail.trail, aws.logs.metric_filter, aws.cloudwatch.alarm, aws.sns.topic]
#   requires: [cloudtrail, logs, cloudwatch, sns]
#   remediation: >-
#     On the log group of the multi-region trail: aws logs put-metric-filter --log-group-name
#     GROUP --filter-name NetworkGatewayChanges --metric-transformations
#     metricName=NetworkGatewayChanges,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern
#     '{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }'; then aws cloudwatch put-metric-alarm
#     --alarm-name NetworkGatewayChanges --metric-name NetworkGatewayChanges --namespace CISBenchmark --statistic Sum
#     --period 300 --evaluation-periods 1 --threshold 1 --comparison-operator
#     GreaterThanOrEqualToThreshold --alarm-actions TOPIC_ARN, and subscribe a confirmed
#     endpoint to the topic.
package plumb.cis_aws_1_5.c4_12

import data.plumb.cis_aws_1_5.lib
import rego.v1

names := [
	"CreateCustomerGateway",
	"DeleteCustomerGateway",
	"AttachInternetGateway",
	"CreateInternetGateway",
	"DeleteInternetGateway",
	"DetachInternetGateway",
]

terms := lib.event_names(names)

findings contains lib.monitoring_finding(terms, "network gateway changes")
