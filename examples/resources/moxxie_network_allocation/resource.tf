# The next free VLAN and /24 of DC1's pools for tenant "acme".
resource "moxxie_network_allocation" "acme" {
  datacenter = "DC1"
  client_id  = "acme"
}

# A second, smaller network for the same tenant with a VLAN of its choice.
resource "moxxie_network_allocation" "acme_db" {
  datacenter    = "DC1"
  client_id     = "acme"
  name          = "db"
  vlan_id       = 1500
  prefix_length = 27
}
