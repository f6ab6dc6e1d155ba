# An application team's workspace: the datacenters come from a shared variable set, the tokens
# from sensitive environment variables, the network and VMs from the platform team's module.
terraform {
  required_version = ">= 1.5"

  required_providers {
    moxxie = {
      source = "moxxie/moxxie"
    }
  }
}

provider "moxxie" {
  datacenters = var.datacenters
}

# Tenant acme: two VMs in DC1 and one in DC2, each on acme's network of that datacenter.
module "acme_dc1" {
  source = "../modules/tenant-network"

  datacenter = "DC1"
  tenant     = "acme"
  vm_count   = 2
  template   = "debian-12"
  user       = "debian"
  ssh_keys   = var.ssh_keys
}

module "acme_dc2" {
  source = "../modules/tenant-network"

  datacenter = "DC2"
  tenant     = "acme"
  vm_count   = 1
  template   = "debian-12"
  user       = "debian"
  ssh_keys   = var.ssh_keys
}
