# Tenant acme has a network in each datacenter; its VM starts in DC1.
resource "moxxie_network_allocation" "acme_dc1" {
  datacenter = "DC1"
  client_id  = "acme"
}

resource "moxxie_network_allocation" "acme_dc2" {
  datacenter = "DC2"
  client_id  = "acme"
}

resource "moxxie_vm" "app" {
  name       = "app-1"
  datacenter = "DC1"
  cores      = 2
  memory_mb  = 4096
  disk       = [{ slot = "scsi0", size_gb = 32 }]

  network_interface = [{ allocation_id = moxxie_network_allocation.acme_dc1.id }]
}

# Moves the running VM to DC2. Destroying this resource moves it back to DC1 (failback).
resource "moxxie_dc_migration" "app_to_dc2" {
  vm_id             = moxxie_vm.app.id
  target_datacenter = "DC2"
  migration_type    = "live"
  revert_on_destroy = true

  # The NIC on acme's DC1 network lands on acme's DC2 network, with an address of that subnet.
  network_mapping = {
    (moxxie_network_allocation.acme_dc1.id) = moxxie_network_allocation.acme_dc2.id
  }

  # Disks on local-lvm go to DC2's ceph-vm; storages not listed go to DC2's default storage.
  storage_mapping     = { "local-lvm" = "ceph-vm" }
  bandwidth_limit_kib = 102400
}
