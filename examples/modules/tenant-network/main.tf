# One tenant network in one datacenter and vm_count VMs on it. Call the module once per
# datacenter: each datacenter hands out its own VLAN and subnet from its own pools.
resource "moxxie_network_allocation" "this" {
  datacenter    = var.datacenter
  client_id     = var.tenant
  name          = var.network_name
  prefix_length = var.prefix_length
  vlan_id       = var.vlan_id
}

locals {
  # Datacenter keys may hold upper case and '_', which VM names (DNS names) may not.
  dc_label = trim(replace(lower(var.datacenter), "/[^a-z0-9-]+/", "-"), "-")
  prefix   = coalesce(var.name_prefix, "${var.tenant}-${local.dc_label}")
}

resource "moxxie_vm" "this" {
  count = var.vm_count

  name        = "${local.prefix}-${count.index + 1}"
  datacenter  = var.datacenter
  cores       = var.cores
  memory_mb   = var.memory_mb
  tags        = concat([var.tenant], var.tags)
  description = "Tenant ${var.tenant}, network ${var.network_name}"

  clone = var.template == null ? null : { template = var.template, full = true }
  disk  = var.disk_gb == null ? null : [{ slot = "scsi0", size_gb = var.disk_gb }]

  cloud_init = var.user == null && length(var.ssh_keys) == 0 ? null : {
    user     = var.user
    ssh_keys = length(var.ssh_keys) == 0 ? null : var.ssh_keys
  }

  # The VM joins the allocation's vnet and gets the next free address of its subnet.
  network_interface = [{ allocation_id = moxxie_network_allocation.this.id }]
}
