# How much room DC1 has left, e.g. to decide where a new tier goes.
data "moxxie_datacenter" "dc1" {
  name = "DC1"
}

output "dc1_free" {
  value = "${data.moxxie_datacenter.dc1.cores.available} cores, ${data.moxxie_datacenter.dc1.memory_mb.available} MiB, ${data.moxxie_datacenter.dc1.network.vlans_free} VLANs free"
}
