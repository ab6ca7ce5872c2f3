module "ok" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.8.1"
}

module "broken" {
  source = "terraform-aws-modules/vpc/aws"
  version = 
}
