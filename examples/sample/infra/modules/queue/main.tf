module "dlq" {
  source = "git::https://github.com/acme/terraform-sqs.git?ref=v2.1.0"
}
