module "subnets" {
  source = "git@github.com:acme/terraform-subnets.git//modules/private"
}

module "flow_logs" {
  source = "git::ssh://git@github.com/acme/terraform-flow-logs.git?ref=3f2b8c1d9e0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
}

module "peering" {
  source = "bitbucket.org/acme/terraform-peering?ref=v1.2"
}

module "firewall" {
  source = "s3::https://s3-eu-west-1.amazonaws.com/acme-modules/firewall-1.0.0.zip"
}

module "bastion" {
  source = "https://modules.example.com/bastion-2.1.0.zip?checksum=sha256:5d41402abc4b2a76b9719d911017c592ae7a1a1d7b8f6c3b4c2e9d8f7a6b5c4d"
}

module "shared" {
  source = "../../shared"
}
