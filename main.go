// Command terraform-provider-moxxie serves the moxxie Terraform provider.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/moxxie/terraform-provider-moxxie/internal/provider"
)

// version is set by goreleaser through -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers like delve")
	flag.Parse()

	quietSDKLogs()
	startHeapProfile()
	// providerserver.Serve with protocol 6, but with the framework's server wrapped (detachedServer).
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/moxxie/moxxie", func() tfprotov6.ProviderServer {
		return detachedServer{providerserver.NewProtocol6(provider.New(version)())()}
	}, opts...)
	if err != nil {
		log.Fatal(err)
	}
}
