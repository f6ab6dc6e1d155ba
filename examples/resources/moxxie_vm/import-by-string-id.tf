# Adopt VM 105 of DC1: `terraform plan` then shows the identity tag moxxie adds at the next apply.
import {
  to = moxxie_vm.app
  id = "DC1/105"
}
