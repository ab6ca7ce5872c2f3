module "downloaded_copy" {
  source = "hashicorp/never/checked"
}
