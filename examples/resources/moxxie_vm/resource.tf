resource "moxxie_network_allocation" "app" {
  datacenter = "DC1"
  client_id  = "acme"
}

resource "moxxie_vm" "app" {
  name        = "app-1"
  datacenter  = "DC1"
  cores       = 2
  memory_mb   = 4096
  tags        = ["app", "acme"]
  description = "Application server of tenant acme"

  network_interface = [
    # On the tenant's network: the next free address, via cloud-init.
    { allocation_id = moxxie_network_allocation.app.id },
    # On a plain bridge with a VLAN tag, e.g. for management.
    { bridge = "vmbr0", vlan_id = 10 },
  ]
}

# A second application server that PVE keeps on another node than app-1 (an HA rule in DC1),
# and that never shares a datacenter with the platform team's databases, whoever manages them.
resource "moxxie_vm" "app_2" {
  name       = "app-2"
  datacenter = "DC1"
  cores      = 2
  memory_mb  = 4096
  tags       = ["app", "acme"]

  network_interface = [
    { allocation_id = moxxie_network_allocation.app.id },
  ]

  affinity = {
    require_different_node    = [moxxie_vm.app.name]
    require_different_dc_tags = ["platform-db"]
  }
}
