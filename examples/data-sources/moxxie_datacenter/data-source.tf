# How much room DC1 has left, e.g. to decide where a new tier goes.
data "moxxie_datacenter" "dc1" {
  name    = "DC1"
  vm_size = { cores = 2, memory_mb = 4096 } # counted in fits_count
}

output "dc1_free" {
  value = "${data.moxxie_datacenter.dc1.fits_count} more 2-vCPU, 4 GiB VMs fit; ${data.moxxie_datacenter.dc1.memory_mb.available} MiB, ${data.moxxie_datacenter.dc1.network.vlans_free} VLANs free"
}

output "dc1_nodes" {
  value = { for name, n in data.moxxie_datacenter.dc1.nodes : name => "${n.free_memory_mb} MiB free, ${n.cpus} CPUs" }
}
