# DC1 runs web servers: vCPUs overcommitted 4:1, 8 GiB per node kept for the host (ZFS ARC,
# Ceph daemons), and stopped VMs keep their memory booked because they are restarted at will.
# DC2 keeps the defaults: what PVE itself would run.
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
      proxmox_url = "https://pve.dc1.example.net:8006"
      placement = {
        cpu_allocation_ratio    = 4
        memory_allocation_ratio = 1
        reserved_memory_mb      = 8192
        count_stopped_vms       = true
      }
      limits = { max_cores = 1024 } # a quota on top of what the nodes take
    }
    DC2 = {
      proxmox_url = "https://pve.dc2.example.net:8006"
    }
  }
}

# How many more 4-vCPU, 8 GiB web servers DC1 takes, each whole on one node.
data "moxxie_datacenter" "dc1" {
  name    = "DC1"
  vm_size = { cores = 4, memory_mb = 8192 }
}

# Planned together: moxxie packs them onto DC1's nodes by best fit, largest first, and refuses
# the plan if they do not fit together.
resource "moxxie_vm" "web" {
  count      = min(3, data.moxxie_datacenter.dc1.fits_count)
  name       = "web-${count.index}"
  datacenter = "DC1"
  cores      = 4
  memory_mb  = 8192
}

output "dc1_nodes_free_memory_mb" {
  value = { for name, n in data.moxxie_datacenter.dc1.nodes : name => n.free_memory_mb }
}
