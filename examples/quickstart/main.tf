# Two datacenters, one VM in each. `make demo` runs this against two simulated clusters; point
# the variables at your own clusters to run it for real.
terraform {
  required_providers {
    moxxie = {
      source = "moxxie/moxxie"
    }
  }
}

provider "moxxie" {
  datacenters = {
    DC1 = {
      location        = "Frankfurt"
      proxmox_url     = var.dc1_url
      tls_fingerprint = var.dc1_fingerprint
      # api_token comes from MOXXIE_DC1_API_TOKEN
      network = {
        bridge     = "vmbr0"
        ip_range   = "172.16.0.0/16"
        vlan_range = "100-2000"
      }
      limits = { max_vms = 50, max_cores = 128, max_memory_mb = 262144 }
    }
    DC2 = {
      location        = "Amsterdam"
      proxmox_url     = var.dc2_url
      tls_fingerprint = var.dc2_fingerprint
      # api_token comes from MOXXIE_DC2_API_TOKEN
      network = {
        bridge       = "vmbr1"
        ip_range     = "172.17.0.0/16"
        vlan_range   = "100-2000"
        qinq_enabled = true
        service_vlan = 3000
      }
    }
  }
}

# One network per datacenter for the same tenant, each from that datacenter's own pools. In DC2
# the VLAN rides inside service VLAN 3000 (Q-in-Q); the VM does not notice.
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "quickstart"
}

resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "quickstart"
}

resource "moxxie_vm" "web" {
  name       = "web-1"
  datacenter = "DC1"
  cores      = 2
  memory_mb  = 2048
  tags       = ["web", "quickstart"]

  network_interface = [{ allocation_id = moxxie_network_allocation.dc1.id }]
}

resource "moxxie_vm" "db" {
  name       = "db-1"
  datacenter = "DC2"
  cores      = 4
  memory_mb  = 4096
  tags       = ["db", "quickstart"]

  network_interface = [{ allocation_id = moxxie_network_allocation.dc2.id }]
}

data "moxxie_vms" "quickstart" {
  tags       = ["quickstart"]
  depends_on = [moxxie_vm.web, moxxie_vm.db]
}
