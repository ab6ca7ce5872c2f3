terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.54.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

module "network" {
  source = "./modules/network"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"
}

module "iam" {
  source = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
}

module "dns" {
  source = "git::https://github.com/acme/terraform-dns.git?ref=v2.3.1"
}

module "logging" {
  source = "github.com/acme/terraform-logging?ref=main"
}
