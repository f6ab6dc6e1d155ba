# An allocation is imported by datacenter and vnet, or by datacenter, client and name.
terraform import moxxie_network_allocation.acme DC1/mxv100
terraform import moxxie_network_allocation.acme_db DC1/acme/db
