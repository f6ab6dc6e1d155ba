# Two datacenters, each its own Proxmox VE cluster. Tokens come from MOXXIE_DC1_API_TOKEN and
# MOXXIE_DC2_API_TOKEN (as Terraform Cloud workspace variables, marked sensitive).
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
      proxmox_url     = "https://pve.dc1.example.net:8006"
      tls_fingerprint = "3F:9A:1C:77:0B:52:E4:18:9D:6A:C0:2B:44:F1:83:5E:A7:19:D2:6C:08:BE:95:31:7F:4A:E6:0D:C3:58:91:2A"
      router_address  = "172.16.0.1"
      storage         = "local-lvm"
      network = {
        bridge        = "vmbr0"
        ip_range      = "172.16.0.0/16"
        vlan_range    = "100-2000"
        subnet_prefix = 24
      }
      limits = { max_vms = 500, max_cores = 1024, max_memory_mb = 4194304 }
    }
    DC2 = {
      location    = "Amsterdam"
      proxmox_url = "https://pve.dc2.example.net:8006"
      tls_ca_pem  = var.dc2_ca_pem # the cluster's /etc/pve/pve-root-ca.pem
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
