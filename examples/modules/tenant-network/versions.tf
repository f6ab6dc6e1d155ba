terraform {
  required_version = ">= 1.5"

  required_providers {
    moxxie = {
      source = "moxxie/moxxie"
    }
  }
}
