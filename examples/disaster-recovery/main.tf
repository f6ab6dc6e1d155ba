# One protected VM in DC1 that fails over to DC2 from its backups on Proxmox Backup Server. The
# "Disaster recovery" guide walks through it: run it, watch `recovery_point`, then set
# `dc1_failed = true` when DC1 is lost and apply.
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
      # The switch: DC1 is declared lost. moxxie then sends it nothing and restores the VM in
      # DC2; set it back to false when DC1 returns, and its stale copy is fenced.
      failed = var.dc1_failed
    }
    DC2 = {
      location        = "Amsterdam"
      proxmox_url     = var.dc2_url
      tls_fingerprint = var.dc2_fingerprint
      # api_token comes from MOXXIE_DC2_API_TOKEN
      network = {
        bridge     = "vmbr1"
        ip_range   = "172.17.0.0/16"
        vlan_range = "100-2000"
      }
    }
  }
}

# The tenant's network in both datacenters: a failover puts each NIC on the failover
# datacenter's allocation of the same client_id and name.
resource "moxxie_network_allocation" "dc1" {
  datacenter = "DC1"
  client_id  = "shop"
}

resource "moxxie_network_allocation" "dc2" {
  datacenter = "DC2"
  client_id  = "shop"
}

resource "moxxie_vm" "db" {
  name                = "db-1"
  datacenter          = "DC1"
  failover_datacenter = "DC2"
  cores               = 2
  memory_mb           = 2048

  network_interface = [{ allocation_id = moxxie_network_allocation.dc1.id }]

  protection = {
    storage          = var.pbs_storage
    failover_storage = var.pbs_failover_storage
    schedule         = "21:00"
  }

  # After a failover, once DC1 is back: move the VM home ("migrate") or drop the fenced copy
  # ("discard_fenced"). null keeps both as they are.
  failback = var.failback
}

# A drill: restores the newest backup in DC2 on a bridge without uplink, sees it boot, removes it.
resource "moxxie_failover_drill" "db" {
  count           = var.drill_month == null ? 0 : 1
  vm_id           = moxxie_vm.db.id
  isolated_bridge = var.isolated_bridge
  triggers        = { month = var.drill_month }
}
