terraform {
  # terraform_data (built into Terraform since 1.4) replaces the null provider:
  # the module downloads no provider at all.
  required_version = ">= 1.4"
}
