# Adopt acme's network that another state (or a lost one) created in DC1.
import {
  to = moxxie_network_allocation.acme
  id = "DC1/acme/default"
}
